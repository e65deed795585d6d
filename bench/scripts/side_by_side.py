"""Shared by the side-by-side cost scripts (plugin_cost.py, io_uring_cost.py): start a
sluice on a config of our own, run sluice-bench against it while sampling its CPU, and
read the CPU in the publish window.

Why a publish window with a skip: the CPU sampler steps every 0.1 s, so a window starting
at the first publish is charged part of the stream opens just before it; skipping the
first `skip` seconds and stopping at the last publish (not after the drain and closes)
leaves only deliveries in it."""

import json
import os
import socket
import subprocess
import time

import procstat
from servers import port_open, stop_pids, wait_until

TOKEN = "bench-publish-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SluiceRunner:
    """Runs sluice (build_dir/sluice) on configs written into workdir, one per run."""

    def __init__(self, build_dir, workdir):
        self.sluice = os.path.join(build_dir, "sluice")
        self.bench = os.path.join(build_dir, "bench", "sluice-bench")
        self.floor = os.path.join(build_dir, "bench", "sluice-floor")
        self.workdir = workdir

    def start(self, config_template, **values):
        """config_template.format(port=..., token=..., **values); returns (proc, port)."""
        port = free_port()
        cfg = os.path.join(self.workdir, "sluice.yaml")
        with open(cfg, "w") as f:
            f.write(config_template.format(port=port, token=TOKEN, **values))
        log = open(os.path.join(self.workdir, "sluice.log"), "a")
        proc = subprocess.Popen([self.sluice, "-c", cfg], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        wait_until(lambda: port_open(port), 10, "sluice listening")
        return proc, port

    def bench_run(self, config_template, path, extra, duration, skip=1.0, **values):
        """sluice-bench against a fresh sluice. Returns (report, CPU from launch to end,
        (CPU in the publish window less its first `skip` s, the share of the deliveries
        in it)), the last None when nothing was published."""
        proc, port = self.start(config_template, **values)
        try:
            argv = [self.bench, "--json-only", "--url", f"http://127.0.0.1:{port}{path}",
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
            w0 = min(pub0 + skip, pub1)
            # Events go out at a steady rate, so the deliveries in [w0, pub1] are that
            # share of all of them.
            share = (pub1 - w0) / (pub1 - pub0) if pub1 > pub0 else 0.0
            return rep, s.cpu_between(launched, end), (s.cpu_between(w0, pub1), share)
        finally:
            stop_pids([proc.pid])

    def s2_cpu_per_1m(self, config_template, path, subs, rate, window, label, headers=(),
                      skip=1.0, **values):
        """S2 (subs streams on one channel, rate events/s for window s): server CPU-s per
        1M deliveries in the publish window. Raises on a run that lost, duplicated or
        failed anything."""
        connect = subs / 2000 * 1.2 + 1
        rep, _, (cpu, share) = self.bench_run(
            config_template, path, [*headers, "--connections", subs, "--ramp", 2000,
                                    "--channels", 1, "--rate", rate, "--drain", 2],
            connect + window + 2, skip, **values)
        if rep["lost"] or rep["duplicated"] or rep["failed"] or not rep["received"]:
            raise RuntimeError(f"{label}: unclean S2 run: {rep}")
        return cpu / (rep["received"] * share) * 1e6
