#!/usr/bin/env python3
"""Runs the issue-5 scenarios (S1-S6) against sluice (1 and 2 workers), Nchan, Pushpin and,
for the Redis comparisons, sluice with a Redis broker and the h3 (Nuxt/Nitro) server, plus
bench/floor's physical limit, and writes bench/RESULTS.md. Called by bench/compare.sh, which
installs the peers and builds the binaries first.

Every server runs fresh for each measurement (no history left by an earlier run), its CPU
and memory are sampled from /proc (bench/scripts/procstat.py), and each load run is one
sluice-bench process whose JSON report gives deliveries, losses and latency.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import procstat  # noqa: E402
import results_md  # noqa: E402
import servers  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PORTS = {"sluice-w1": 28101, "sluice-w2": 28102, "nchan": 28103, "pushpin": 28110,
         "sluice-w1-redis": 28104, "h3": 28105, "redis": 28106, "sluice-multi": 28107,
         "sluice-w1-cluster": 28108, "sluice-w1-uring": 28109, "redis-cluster": 28120}

# Counts and times per mode. Scenario meanings are in bench/README.md.
PROFILES = {
    "full": {
        "floor_counts": [1000, 10000, 15000], "floor_s": 3, "floor_paced_s": 6,
        "s1_counts": [10000, 15000], "s1_hold_s": 4,
        "s1_machine": 100000, "s1_machine_procs": 7,
        "s2_subs": 10000, "s2_rates": [5, 10, 20, 40, 80], "s2_redis_rates": [5, 20],
        "window_s": 8,
        "s3_subs": 10000,
        "s4_subs": 1000, "s4_rate": 100,
        "s5_subs": 10000, "s5_rate": 50,
        "s6_subs": 1000, "s6_rate": 250, "s6_size": 16384, "s6_window_s": 20,
        # One sluice-bench process makes every client handshake (ECDHE and a signature
        # check each): 2,000 streams at 500/s is what it completes on this machine.
        "tls_subs": 2000, "tls_ramp": 500, "tls_s2_rates": [5, 20], "tls_handshakes": 1000,
    },
    "quick": {
        "floor_counts": [1000, 2000], "floor_s": 2, "floor_paced_s": 2,
        "s1_counts": [2000], "s1_hold_s": 2,
        "s1_machine": 10000, "s1_machine_procs": 2,
        "s2_subs": 2000, "s2_rates": [10, 40], "s2_redis_rates": [10],
        "window_s": 3,
        "s3_subs": 2000,
        "s4_subs": 500, "s4_rate": 100,
        "s5_subs": 2000, "s5_rate": 50,
        "s6_subs": 500, "s6_rate": 250, "s6_size": 16384, "s6_window_s": 12,
        "tls_subs": 1000, "tls_ramp": 500, "tls_s2_rates": [10], "tls_handshakes": 500,
    },
}


class Run:
    """State of one compare run: binaries, profile, logged commands and results."""

    def __init__(self, args):
        self.args = args
        self.p = PROFILES[args.mode]
        self.workdir = args.workdir
        self.bench = os.path.join(args.build_dir, "bench", "sluice-bench")
        self.floor = os.path.join(args.build_dir, "bench", "sluice-floor")
        self.sluice = os.path.join(args.build_dir, "sluice")
        self.commands = []      # (server, argv) in order
        self.results = {"mode": args.mode, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                        "floor": [], "s1": [], "s1_machine": None, "s2": [], "s3": [],
                        "s4": [], "s5": [], "s6": [], "tls": [], "handshakes": [],
                        "rolling": [], "problems": []}
        self.redis = None
        self.cluster = None
        os.makedirs(self.workdir, exist_ok=True)
        self.raw = open(os.path.join(self.workdir, "raw.jsonl"), "a")

    def log(self, msg):
        print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def note_problem(self, text):
        self.log("problem: " + text)
        self.results["problems"].append(text)

    # --- servers -------------------------------------------------------------------------

    def make_server(self, name):
        w = self.workdir
        base, _, transport = name.partition("+")  # "nchan+h2": Nchan over TLS and HTTP/2
        if transport:
            if base == "sluice-w1":
                return servers.Sluice(w, self.sluice, PORTS[base], workers=1, transport=transport,
                                      name=name)
            if base == "nchan":
                srv = servers.Nchan(w, PORTS[base], workers=1, transport=transport)
                srv.name = name
                return srv
            raise ValueError(name)
        if name == "sluice-w1":
            return servers.Sluice(w, self.sluice, PORTS[name], workers=1)
        if name == "sluice-w2":
            return servers.Sluice(w, self.sluice, PORTS[name], workers=2)
        if name == "nchan":
            return servers.Nchan(w, PORTS[name], workers=1)
        if name == "pushpin":
            return servers.Pushpin(w, PORTS[name])
        if name == "sluice-w1-redis":
            return servers.Sluice(w, self.sluice, PORTS[name], workers=1,
                                  redis_port=PORTS["redis"])
        if name == "h3":
            return servers.H3(w, PORTS[name], PORTS["redis"])
        if name == "sluice-w1-cluster":
            return servers.Sluice(w, self.sluice, PORTS[name], workers=1, cluster=self.cluster)
        if name == "sluice-w1-uring":
            return servers.Sluice(w, self.sluice, PORTS[name], workers=1, io_uring=True,
                                  name=name)
        raise ValueError(name)

    def ensure_redis(self):
        if self.redis is None:
            self.redis = servers.Redis(self.workdir, PORTS["redis"]).start()

    def ensure_cluster(self):
        if self.cluster is None:
            self.cluster = servers.RedisCluster(self.workdir, PORTS["redis-cluster"]).start()

    def fresh(self, name):
        if name in ("sluice-w1-redis", "h3"):
            self.ensure_redis()
        if name == "sluice-w1-cluster":
            self.ensure_cluster()
        srv = self.make_server(name).start()
        time.sleep(0.3)
        return srv

    # --- one load run --------------------------------------------------------------------

    def bench_run(self, srv, scenario, extra, duration, publish=True, sample_before_s=0.0,
                  ramp=None):
        argv = [self.bench, "--json-only", "--url", srv.sub_url(), *srv.sub_args(),
                "--ramp", str(ramp or srv.ramp), "--duration", f"{duration:g}"]
        argv += srv.pub_args() if publish else ["--publish", "none"]
        argv += [str(a) for a in extra]
        self.commands.append((srv.name, scenario, argv))
        sampler = procstat.Sampler({"server": srv.pids()})
        sampler.start()
        if sample_before_s:
            time.sleep(sample_before_s)
        t_launch = time.time()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sampler.add_root("bench", proc.pid)
        try:
            out, err = proc.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        sampler.stop()
        lines = out.decode().strip().splitlines()
        if not lines:
            raise RuntimeError(f"sluice-bench printed nothing: {err.decode()[-500:]}")
        rep = json.loads(lines[-1])
        t0 = rep["start_unix_ms"] / 1000.0
        end = t0 + rep["elapsed_s"]
        pub0 = t0 + rep["publish_start_s"] if rep["publish_start_s"] >= 0 else end
        s, b = sampler.series["server"], sampler.series["bench"]
        res = {
            "server": srv.name, "scenario": scenario, "report": rep, "argv": argv,
            "server_cpu_window": s.cpu_between(pub0, end),
            "server_cpu_run": s.cpu_between(t_launch, end),
            "bench_cpu_window": b.cpu_between(pub0, end),
            "bench_cpu_run": rep["cpu_user_s"] + rep["cpu_sys_s"],
            "window_s": end - pub0,
            "pss_before": s.last_before("pss", t_launch),
            "rss_before": s.last_before("rss", t_launch),
            "pss_peak": s.peak("pss", t_launch, end + 0.2),
            "rss_peak": s.peak("rss", t_launch, end + 0.2),
            "pss_end": s.last_before("pss", end),
            "rss_end": s.last_before("rss", end),
        }
        self.raw.write(json.dumps({k: v for k, v in res.items()}) + "\n")
        self.raw.flush()
        srv.check_alive()
        return res

    def connect_s(self, srv, n):
        """A generous bound on the time to open n connections at the server's ramp."""
        return n / srv.ramp * 1.2 + 1

    # --- scenarios -----------------------------------------------------------------------

    def floor_runs(self):
        counts = ",".join(str(c) for c in self.p["floor_counts"])
        # Back to back, one event per write (what sluice writes when it keeps up) and
        # broadcast with 8 events per write (what coalescing under backlog can reach).
        runs = [[self.floor, "--json-only", "--mode", mode, "--connections", counts,
                 "--batch", str(batch), "--duration", str(self.p["floor_s"])]
                for mode, batch in (("broadcast", 1), ("sessions", 1), ("broadcast", 8))]
        # S2's shape: its subscriber count, paced at each of its rates (writer and readers
        # asleep between events), with write(2) and with io_uring's batched submission.
        for rate in self.p["s2_rates"]:
            for io in ("write", "uring"):
                runs.append([self.floor, "--json-only", "--mode", "broadcast", "--connections",
                             str(self.p["s2_subs"]), "--rate", str(rate), "--io", io,
                             "--duration", str(self.p["floor_paced_s"])])
        for argv in runs:
            self.commands.append(("floor", "floor", argv))
            out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            for line in out.stdout.strip().splitlines():
                self.results["floor"].append(json.loads(line))
            if out.returncode != 0:
                self.note_problem(f"sluice-floor {' '.join(argv[2:])}: {out.stderr.strip()[-300:]}")
        self.log("floor: " + ", ".join(f"{f['mode']}/{f['batch']}/{f.get('rate', 0)}/"
                                       f"{f.get('io', 'write')} {f['connections']}: "
                                       f"{f['deliveries_per_cpu_s']:.0f}/cpu-s"
                                       for f in self.results["floor"]))

    def s1(self, name):
        for n in self.p["s1_counts"]:
            srv = self.fresh(name)
            try:
                # As fast as the server takes them (Pushpin: its usual ramp).
                ramp = srv.s1_ramp
                duration = n / ramp * 1.2 + 3 + self.p["s1_hold_s"]
                res = self.bench_run(srv, "S1", ["--connections", n], duration, publish=False,
                                     sample_before_s=1.0, ramp=ramp)
            finally:
                srv.stop()
            rep = res["report"]
            res["streams"] = rep["open_at_end"]
            per = (res["pss_end"] - res["pss_before"]) / max(1, rep["open_at_end"])
            res["pss_per_stream_kib"] = per
            self.results["s1"].append(res)
            self.log(f"S1 {name} {n}: {rep['open_at_end']} open, settled {rep['settled_s']}s, "
                     f"{per:.2f} KiB/stream")

    def s1_machine(self):
        total, procs = self.p["s1_machine"], self.p["s1_machine_procs"]
        per_proc = -(-total // procs)
        srv = servers.Sluice(self.workdir, self.sluice, PORTS["sluice-multi"], workers=1,
                             processes=procs, name="sluice-multi")
        srv.start()
        try:
            sampler = procstat.Sampler({"server": srv.pids()})
            sampler.start()
            time.sleep(1.0)
            ramp = 2500
            duration = per_proc / ramp * 1.5 + 8
            t_launch = time.time()
            benches = []
            for i in range(procs):
                n = min(per_proc, total - i * per_proc)
                argv = [self.bench, "--json-only", "--url", srv.sub_url(), "--publish", "none",
                        "--connections", str(n), "--ramp", str(ramp), "--duration",
                        f"{duration:g}"]
                self.commands.append(("sluice-multi", "S1-machine", argv))
                p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                sampler.add_root("bench", p.pid)
                benches.append(p)
            # While every stream is held: open descriptors per sluice process.
            time.sleep(duration - 2)
            fds = [procstat.open_fds(pid) for pid in srv.pids()]
            reports = []
            for p in benches:
                out, _ = p.communicate(timeout=duration + 60)
                reports.append(json.loads(out.decode().strip().splitlines()[-1]))
            sampler.stop()
            end = max(r["start_unix_ms"] / 1000.0 + r["elapsed_s"] for r in reports)
            s = sampler.series["server"]
            res = {
                "processes": procs, "target": total,
                "open": sum(r["open_at_end"] for r in reports),
                "failed": sum(r["failed"] for r in reports),
                "settled_s": max(r["settled_s"] for r in reports),
                "fds": fds,
                "pss_before": s.last_before("pss", t_launch),
                "pss_end": s.last_before("pss", end - 0.5),
                "bench_cpu": sum(r["cpu_user_s"] + r["cpu_sys_s"] for r in reports),
                "server_cpu": s.cpu_between(t_launch, end),
                "bench_processes": procs,
            }
            res["pss_per_stream_kib"] = ((res["pss_end"] - res["pss_before"]) /
                                         max(1, res["open"]))
            self.results["s1_machine"] = res
            self.raw.write(json.dumps({"scenario": "S1-machine", **res,
                                       "reports": reports}) + "\n")
            self.log(f"S1 machine: {res['open']}/{total} open over {procs} processes, "
                     f"fds {fds}, {res['pss_per_stream_kib']:.2f} KiB/stream")
        finally:
            srv.stop()

    def load_run(self, name, scenario, n, channels, rate, window, extra=(), size=None,
                 storm_after=None, ramp=None):
        srv = self.fresh(name)
        if ramp:
            srv.ramp = ramp
        try:
            connect = self.connect_s(srv, n)
            drain = 2
            args = ["--connections", n, "--channels", channels, "--rate", rate,
                    "--drain", drain, *extra]
            if size:
                args += ["--size", size]
            if storm_after is not None:
                args += ["--reconnect-storm-at", f"{connect + storm_after:g}"]
            res = self.bench_run(srv, scenario, args, connect + window + drain)
            if isinstance(srv, servers.Sluice):
                res["slow_disconnects"] = srv.metric("sluice_sse_slow_disconnects_total")
        finally:
            srv.stop()
        rep = res["report"]
        res["rate"] = rate
        res["subs"] = n
        res["deliveries_per_s"] = rep["received"] / res["window_s"] if res["window_s"] else 0
        # Connection i reads channel i % channels, and events go round-robin over channels.
        res["expected"] = rep["publish"]["published"] * n // channels
        if res["server_cpu_window"] > 0:
            res["deliveries_per_cpu_s"] = rep["received"] / res["server_cpu_window"]
        else:
            res["deliveries_per_cpu_s"] = 0
        res["cpu_per_1m"] = (res["server_cpu_window"] / rep["received"] * 1e6
                             if rep["received"] else None)
        lat = rep["latency_us"]
        self.log(f"{scenario} {name} n={n} rate={rate}: received {rep['received']} "
                 f"({res['deliveries_per_s']:.0f}/s), server cpu {res['server_cpu_window']:.2f}s, "
                 f"p50 {lat['p50']}us p99 {lat['p99']}us, lost {rep['lost']} "
                 f"dup {rep['duplicated']} failed {rep['failed']}")
        return res

    def s2(self, name, rates):
        n = self.p["s2_subs"]
        for rate in rates:
            res = self.load_run(name, "S2", n, 1, rate, self.p["window_s"])
            self.results["s2"].append(res)
            rep = res["report"]
            delivered = rep["received"] / max(1, rep["publish"]["published"] * n)
            if delivered < 0.9 or rep["latency_us"]["p99"] > 2_000_000 or rep["failed"]:
                self.log(f"S2 {name}: saturated at {rate}/s; no higher rates")
                break

    def s3(self, name):
        n = self.p["s3_subs"]
        res = self.load_run(name, "S3", n, n, n, self.p["window_s"])
        self.results["s3"].append(res)

    def s4(self, name):
        res = self.load_run(name, "S4", self.p["s4_subs"], 10, self.p["s4_rate"],
                            self.p["window_s"])
        self.results["s4"].append(res)

    def s5(self, name):
        res = self.load_run(name, "S5", self.p["s5_subs"], 10, self.p["s5_rate"],
                            self.p["window_s"] + 4, storm_after=2)
        self.results["s5"].append(res)

    def s6(self, name):
        pair = {}
        for frac in (0, 0.1):
            res = self.load_run(name, "S6", self.p["s6_subs"], 10, self.p["s6_rate"],
                                self.p["s6_window_s"], extra=["--stalled-fraction", frac],
                                size=self.p["s6_size"])
            res["stalled_fraction"] = frac
            pair[frac] = res
        self.results["s6"].append({"server": name, "base": pair[0], "slow": pair[0.1]})

    def tls(self):
        """S2 and S3 with the subscribers over TLS (HTTP/1.1, and HTTP/2 with 100 streams per
        connection) against the same servers in plain HTTP, sluice and Nchan (nginx's own
        TLS) side by side; then the CPU a TLS connection costs each server."""
        n = self.p["tls_subs"]
        ramp = self.p["tls_ramp"]  # every transport opens at the same pace
        for transport in ("plain", "tls", "h2"):
            for base in ("sluice-w1", "nchan"):
                name = base if transport == "plain" else f"{base}+{transport}"
                for rate in self.p["tls_s2_rates"]:
                    res = self.load_run(name, "S2", n, 1, rate, self.p["window_s"], ramp=ramp)
                    res["transport"] = transport
                    self.results["tls"].append(res)
                res = self.load_run(name, "S3", n, n, n, self.p["window_s"], ramp=ramp)
                res["transport"] = transport
                self.results["tls"].append(res)
        # Streams opened and held, nothing published: server CPU and memory per stream,
        # plain, TLS (the difference is the handshake and the TLS session) and HTTP/2 (100
        # streams share a connection, its handshake and its HTTP/2 session).
        h = self.p["tls_handshakes"]
        for base in ("sluice-w1", "nchan"):
            for transport in ("plain", "tls", "h2"):
                name = base if transport == "plain" else f"{base}+{transport}"
                srv = self.fresh(name)
                try:
                    ramp = 250
                    res = self.bench_run(srv, "handshakes", ["--connections", h], h / ramp + 4,
                                         publish=False, ramp=ramp)
                finally:
                    srv.stop()
                rep = res["report"]
                res.update(transport=transport, base=base, connected=rep["connected"],
                           cpu_per_conn_us=(res["server_cpu_run"] / rep["connected"] * 1e6
                                            if rep["connected"] else None),
                           pss_per_conn_kib=((res["pss_end"] - res["pss_before"]) /
                                             rep["connected"] if rep["connected"] and
                                             res["pss_end"] and res["pss_before"] else None))
                self.log(f"handshakes {name}: {rep['connected']} connected, server cpu "
                         f"{res['server_cpu_run']:.2f}s")
                self.results["handshakes"].append(res)

    def rolling(self):
        """bench/rolling: three instances behind haproxy restarted one by one, unpaced and
        with a 5 s drain_pace (quick: the CI-sized run)."""
        out = os.path.join(self.workdir, "rolling.json")
        argv = [sys.executable, os.path.join(BENCH_DIR, "rolling", "rolling_restart.py"),
                "--sluice", self.sluice, "--json", out]
        if self.args.mode == "quick":
            argv.append("--quick")
        self.commands.append(("sluice x3 + haproxy", "rolling restart", argv))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        if not os.path.exists(out):
            raise RuntimeError(f"rolling_restart.py wrote nothing: {done.stderr[-500:]}")
        with open(out) as f:
            self.results["rolling"] = json.load(f)
        for r in self.results["rolling"]:
            self.log(f"rolling drain_pace {r['drain_pace']}: exact {r['exact']}, reconnects "
                     f"{r['reconnects']}, peak/s (1 s) {r['peak_reconnects_per_s_1s']}")

    # --- the whole run -------------------------------------------------------------------

    def run(self):
        t_start = time.time()
        self.results["machine"] = machine_info()
        self.results["versions"] = versions(self.sluice)
        only = set(self.args.only.split(",")) if self.args.only else None
        want = lambda s: only is None or s in only  # noqa: E731
        memory_track = ["sluice-w1", "sluice-w2", "nchan", "pushpin"]
        # io_uring: true (issue 12's batched writes) where it matters: the fan-out of S2, S3.
        uring_track = ["sluice-w1-uring"]
        redis_track = ["sluice-w1-redis", "h3", "sluice-w1-cluster"]
        if self.args.servers:
            keep = set(self.args.servers.split(","))
            memory_track = [s for s in memory_track if s in keep]
            uring_track = [s for s in uring_track if s in keep]
            redis_track = [s for s in redis_track if s in keep]
        steps = []
        if want("floor"):
            steps.append(("floor", self.floor_runs))
        # The Redis Cluster rows are S2's and S3's (issue 12): the other scenarios measure
        # nothing the cluster changes.
        no_cluster = [n for n in redis_track if n != "sluice-w1-cluster"]
        for name in memory_track + no_cluster:
            if want("S1"):
                steps.append((f"S1 {name}", lambda n=name: self.s1(n)))
        if want("S1") and (not self.args.servers or "sluice-multi" in self.args.servers):
            steps.append(("S1 machine", self.s1_machine))
        for name in memory_track + uring_track:
            if want("S2"):
                steps.append((f"S2 {name}", lambda n=name: self.s2(n, self.p["s2_rates"])))
        for name in redis_track:
            if want("S2"):
                steps.append((f"S2 {name}",
                              lambda n=name: self.s2(n, self.p["s2_redis_rates"])))
        for scen, fn in (("S3", self.s3), ("S4", self.s4), ("S5", self.s5), ("S6", self.s6)):
            names = memory_track + {"S3": uring_track + redis_track,
                                    "S4": no_cluster}.get(scen, [])
            for name in names:
                if want(scen):
                    steps.append((f"{scen} {name}", lambda n=name, f=fn: f(n)))
        if want("TLS") and (not self.args.servers or "tls" in self.args.servers):
            steps.append(("TLS and HTTP/2", self.tls))
        if want("rolling") and not self.args.servers:
            steps.append(("rolling restart", self.rolling))
        try:
            for label, fn in steps:
                try:
                    fn()
                except Exception as e:  # one failed step must not lose the rest of the table
                    self.note_problem(f"{label}: {e}")
        finally:
            if self.redis:
                self.redis.stop()
            if self.cluster:
                self.cluster.stop()
        self.results["elapsed_s"] = time.time() - t_start
        self.results["commands"] = self.commands
        with open(os.path.join(self.workdir, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        md = results_md.render(self.results, self.args)
        md += results_md.kept_sections(self.args.out, md)
        with open(self.args.out, "w") as f:
            f.write(md)
        self.log(f"done in {self.results['elapsed_s']:.0f}s; wrote {self.args.out} "
                 f"(raw data in {self.workdir})")


def sh(cmd):
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(), "debian": sh("cat /etc/debian_version"),
        "nofile": sh("ulimit -Hn"), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_before": sh("cat /proc/loadavg"),
    }


def versions(sluice_bin):
    h3dir = os.path.join(servers.PEERS, "h3", "node_modules")

    def npm_version(pkg):
        try:
            with open(os.path.join(h3dir, pkg, "package.json")) as f:
                return json.load(f)["version"]
        except OSError:
            return "not installed"

    dpkg = sh("dpkg-query -W -f='${Package} ${Version}\\n' nginx libnginx-mod-nchan pushpin "
              "condure zurl redis-server")
    return {
        "sluice": sh(f"{sluice_bin} --version"),
        "packages": dpkg.splitlines(),
        "node": sh("node --version"),
        "h3": npm_version("h3"), "ioredis": npm_version("ioredis"),
        "compiler": sh("g++ --version | head -1"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=sorted(PROFILES), default="full")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma list of floor,S1..S6,TLS,rolling")
    ap.add_argument("--servers", default="", help="comma list of sluice-w1, sluice-w2, nchan, "
                    "pushpin, sluice-w1-redis, h3, sluice-w1-cluster, sluice-multi (S1's "
                    "many-process run), "
                    "tls (the TLS and HTTP/2 rows)")
    ap.add_argument("--command-line", default="", help="how compare.sh was invoked")
    args = ap.parse_args()
    Run(args).run()


if __name__ == "__main__":
    main()
