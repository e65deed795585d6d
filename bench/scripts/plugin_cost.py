#!/usr/bin/env python3
"""What plugins cost sluice, measured with sluice-bench (issue 11, item 5).

Three sse routes on the same channels in one config: `plain` (no plugins), `jwt` (RS256,
the token in Authorization) and `full` (cors + jwt + rate_limit with limits no client
reaches). Every variant's clients send the same headers (Origin and the token), so the
variants differ only in what the route runs. For each variant, interleaved `--runs` times,
each run on a fresh sluice:

- open: `--opens` streams opened at once and closed at the end, nothing published; server
  CPU from the launch of sluice-bench to its end, per stream (open + close + idle);
- S2: `--subs` streams on one channel, `--rate` events/s for `--window` s; server CPU per
  1M deliveries in the publish window less its first `--skip` s (the CPU sampler's 0.1 s
  steps would otherwise charge part of the stream opens, 7x dearer through RS256, to the
  deliveries) and without the drain and closes after it. None of these plugins has a
  per-event hook, so the target is within 5% of `plain`.

Prints the medians and the ratios to `plain`; --json writes every run.

    python3 bench/scripts/plugin_cost.py --build-dir build --runs 5
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import procstat  # noqa: E402
from servers import port_open, stop_pids, wait_until  # noqa: E402

TOKEN = "bench-publish-token"
ORIGIN = "http://app.test"
VARIANTS = ("plain", "jwt", "full")

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 1
broker: {{type: memory}}
publish: {{token: {token}}}
access_log: off
log_level: warn
limits: {{max_connections: 100000, max_connections_per_ip: 100000}}
routes:
  - path: /plain/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
  - path: /jwt/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
    plugins:
      - jwt: {{algorithms: [RS256], key_file: {key}}}
  - path: /full/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
    plugins:
      - cors: {{origins: ["{origin}"], credentials: true}}
      - jwt: {{algorithms: [RS256], key_file: {key}}}
      - rate_limit: {{requests_per_second: 1000000, burst: 1000000, max_streams: 1000000}}
"""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rs256_token(private_pem, workdir):
    """A token valid for a day, signed by the openssl CLI (the stdlib has no RSA)."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": "bench", "exp": int(time.time()) + 86400}).encode())
    signing_input = f"{header}.{claims}"
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", private_pem],
                         input=signing_input.encode(), capture_output=True, check=True).stdout
    return f"{signing_input}.{b64url(sig)}"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.sluice = os.path.join(args.build_dir, "sluice")
        self.bench = os.path.join(args.build_dir, "bench", "sluice-bench")
        key = os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
        self.key = key
        self.token = rs256_token(key, workdir)

    def start_sluice(self):
        port = free_port()
        cfg = os.path.join(self.workdir, "sluice.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(port=port, token=TOKEN, key=self.key, origin=ORIGIN))
        log = open(os.path.join(self.workdir, "sluice.log"), "a")
        proc = subprocess.Popen([self.sluice, "-c", cfg], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        wait_until(lambda: port_open(port), 10, "sluice listening")
        return proc, port

    def bench_run(self, variant, extra, duration):
        proc, port = self.start_sluice()
        try:
            argv = [self.bench, "--json-only", "--url",
                    f"http://127.0.0.1:{port}/{variant}/{{c}}/stream",
                    "--header", f"Origin: {ORIGIN}",
                    "--header", f"Authorization: Bearer {self.token}",
                    "--publish-url", f"http://127.0.0.1:{port}/_sluice/publish/bench:{{c}}",
                    "--token", TOKEN, "--duration", f"{duration:g}", *map(str, extra)]
            sampler = procstat.Sampler({"server": [proc.pid]})
            sampler.start()
            launched = time.time()
            out = subprocess.run(argv, capture_output=True, timeout=duration + 60).stdout
            sampler.stop()
            rep = json.loads(out.decode().strip().splitlines()[-1])
            t0 = rep["start_unix_ms"] / 1000.0
            end = t0 + rep["elapsed_s"]
            s = sampler.series["server"]
            if rep["publish_start_s"] < 0:
                return rep, s.cpu_between(launched, end), None
            pub0, pub1 = t0 + rep["publish_start_s"], t0 + rep["publish_end_s"]
            w0 = min(pub0 + self.args.skip, pub1)
            # Events go out at a steady rate, so the deliveries in [w0, pub1] are that
            # share of all of them.
            share = (pub1 - w0) / (pub1 - pub0) if pub1 > pub0 else 0.0
            return rep, s.cpu_between(launched, end), (s.cpu_between(w0, pub1), share)
        finally:
            stop_pids([proc.pid])

    def open_cost(self, variant):
        n = self.args.opens
        rep, cpu_run, _ = self.bench_run(variant, ["--connections", n, "--ramp", n,
                                                   "--publish", "none"], n / n + 3)
        if rep["connected"] < n or rep["failed"]:
            raise RuntimeError(f"{variant}: {rep['connected']} of {n} connected, "
                               f"{rep['failed']} failed")
        return cpu_run / n * 1e6  # µs per stream

    def delivery_cost(self, variant):
        a = self.args
        connect = a.subs / 2000 * 1.2 + 1
        rep, _, (cpu_window, share) = self.bench_run(
            variant, ["--connections", a.subs, "--ramp", 2000, "--channels", 1, "--rate",
                      a.rate, "--drain", 2], connect + a.window + 2)
        if rep["lost"] or rep["duplicated"] or rep["failed"] or not rep["received"]:
            raise RuntimeError(f"{variant}: unclean S2 run: {rep}")
        return cpu_window / (rep["received"] * share) * 1e6  # CPU-s per 1M deliveries


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--opens", type=int, default=3000)
    ap.add_argument("--subs", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--skip", type=float, default=1.0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results = {v: {"open_us": [], "s2_cpu_per_1m": []} for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="sluice-plugin-cost-") as workdir:
        run = Run(args, workdir)
        for i in range(args.runs):
            for v in VARIANTS:
                results[v]["open_us"].append(run.open_cost(v))
                results[v]["s2_cpu_per_1m"].append(run.delivery_cost(v))
                print(f"run {i + 1} {v}: open {results[v]['open_us'][-1]:.1f} µs/stream, "
                      f"S2 {results[v]['s2_cpu_per_1m'][-1]:.3f} CPU-s/1M", flush=True)
    base = {k: statistics.median(results["plain"][k]) for k in ("open_us", "s2_cpu_per_1m")}
    print(f"\n{'route':>6} {'open µs/stream':>15} {'ratio':>6} {'S2 CPU-s/1M':>12} {'ratio':>6}")
    for v in VARIANTS:
        o = statistics.median(results[v]["open_us"])
        d = statistics.median(results[v]["s2_cpu_per_1m"])
        print(f"{v:>6} {o:>15.1f} {o / base['open_us']:>6.2f} {d:>12.3f} "
              f"{d / base['s2_cpu_per_1m']:>6.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
