#!/usr/bin/env python3
"""What batched submission (`io_uring: true`) saves sluice at S2's low rates, side by side
with the paced floor (issue 12, item 2).

For each rate, interleaved `--runs` times: sluice-floor paced at that rate with write(2)
and with io_uring (`--subs` sockets, broadcast), then S2 (`--subs` streams on one channel,
that many events/s for `--window` s) on a fresh sluice with `io_uring: false` and with
`io_uring: true`: server CPU-s per 1M deliveries in the publish window (less its first
second). Prints the medians, sluice's share of the paced floor and the io_uring ratios;
--json writes every run. The switch is worth keeping on where it saves at least 10%.

    python3 bench/scripts/io_uring_cost.py --build-dir build --runs 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from side_by_side import SluiceRunner  # noqa: E402

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 1
io_uring: {io_uring}
broker: {{type: memory}}
publish: {{token: {token}}}
access_log: off
log_level: warn
limits: {{max_connections: 100000, max_connections_per_ip: 100000}}
routes:
  - path: /s/{{c}}
    sse: {{channel: "bench:{{c}}"}}
"""

MODES = ("write", "uring")


def floor_cpu_per_1m(runner, subs, rate, seconds, io):
    out = subprocess.run([runner.floor, "--json-only", "--mode", "broadcast", "--connections",
                          str(subs), "--rate", str(rate), "--io", io, "--duration",
                          str(seconds)], capture_output=True, text=True, timeout=120, check=True)
    f = json.loads(out.stdout.strip().splitlines()[-1])
    return f["cpu_s"] / f["deliveries"] * 1e6


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rates", default="5,10,20")
    ap.add_argument("--subs", type=int, default=10000)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--floor-seconds", type=float, default=6)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    res = {f"{what} {io} {r:g}": [] for r in rates for io in MODES for what in ("floor", "sluice")}
    with tempfile.TemporaryDirectory(prefix="sluice-io-uring-cost-") as workdir:
        runner = SluiceRunner(args.build_dir, workdir)
        for i in range(args.runs):
            for r in rates:
                for io in MODES:
                    res[f"floor {io} {r:g}"].append(
                        floor_cpu_per_1m(runner, args.subs, r, args.floor_seconds, io))
                    try:
                        res[f"sluice {io} {r:g}"].append(runner.s2_cpu_per_1m(
                            CONFIG, "/s/{c}", args.subs, r, args.window, f"{io} {r:g}/s",
                            io_uring="true" if io == "uring" else "false"))
                    except RuntimeError as e:
                        # A run that lost events (an overloaded machine) measures nothing:
                        # said here, left out of the medians.
                        print(f"run {i + 1} {r:g}/s {io}: left out: {str(e)[:200]}", flush=True)
                        continue
                    print(f"run {i + 1} {r:g}/s {io}: floor {res[f'floor {io} {r:g}'][-1]:.3f}, "
                          f"sluice {res[f'sluice {io} {r:g}'][-1]:.3f} CPU-s/1M", flush=True)
    med = {k: statistics.median(v) if v else float("nan") for k, v in res.items()}
    print(f"\n{'rate':>5} {'floor w':>8} {'floor u':>8} {'u/w':>5} {'sluice w':>9} "
          f"{'sluice u':>9} {'u/w':>5} {'of floor w':>10} {'of floor u':>10}   (CPU-s per 1M)")
    for r in rates:
        fw, fu = med[f"floor write {r:g}"], med[f"floor uring {r:g}"]
        sw, su = med[f"sluice write {r:g}"], med[f"sluice uring {r:g}"]
        print(f"{r:>5g} {fw:>8.3f} {fu:>8.3f} {fu / fw:>5.2f} {sw:>9.3f} {su:>9.3f} "
              f"{su / sw:>5.2f} {100 * fw / sw:>9.0f}% {100 * fu / su:>9.0f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
