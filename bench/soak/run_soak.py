#!/usr/bin/env python3
"""The sluice chaos soak (see README.md next to this file). Exit status: 0 when every
client received every event exactly once and in order (or an explained gap), every exit
was clean and memory came back; 1 otherwise; 2 for bad arguments."""

import argparse
import asyncio
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from soaklib import report_text, soak  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# --quick: the 30-second version CI runs (tests/integration/test_soak.py).
QUICK = dict(duration=30, streams=300, pollers=30, channels=8, hot_channels=2,
             burst_channels=2, rate=2.0, hot_rate=10.0, burst_size=30, burst_every=17.0,
             redis_ttl=15, read_min=0.5, read_max=4.0, long_pause_min=3.0,
             long_pause_max=8.0, final_timeout=40.0, leak_streams=20)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--quick", action="store_true", help="the 30-second CI version (smaller counts)")
    a("--duration", type=float, default=600.0, help="seconds of load and chaos (600)")
    a("--streams", type=int, default=3000, help="SSE clients (3000)")
    a("--pollers", type=int, default=200, help="poll clients (200)")
    a("--channels", type=int, default=40, help="steady channels, half sequenced (40)")
    a("--hot-channels", type=int, default=4, help="fast channels, half sequenced (4)")
    a("--burst-channels", type=int, default=4, help="bursty channels, half sequenced (4)")
    a("--rate", type=float, default=1.0, help="events/s per steady channel (1)")
    a("--hot-rate", type=float, default=15.0, help="events/s per hot channel (15)")
    a("--burst-size", type=int, default=50, help="events per burst (50)")
    a("--burst-every", type=float, default=40.0,
      help="seconds between bursts; longer than --redis-ttl and the local ttl (40)")
    a("--burst-pad", type=int, default=1000, help="padding bytes in burst payloads (1000)")
    a("--redis-history-size", type=int, default=150, help="broker.history.size (150)")
    a("--redis-ttl", type=int, default=30, help="broker.history.ttl in seconds (30)")
    a("--local-history-size", type=int, default=20, help="route history.size (20)")
    a("--burst-local-ttl", type=int, default=5, dest="burst_local_ttl_s",
      help="route history.ttl of the burst channels, seconds (5)")
    a("--workers", type=int, default=2, help="workers per sluice instance (2)")
    a("--client-buffer", default="256KiB", help="limits.client_buffer (256KiB)")
    a("--heartbeat", type=int, default=5, dest="heartbeat_s", help="seconds (5)")
    a("--read-min", type=float, default=2.0, help="shortest stream session, s (2)")
    a("--read-max", type=float, default=20.0, help="longest stream session, s (20)")
    a("--pause-max", type=float, default=2.0, help="longest ordinary pause, s (2)")
    a("--long-pause-share", type=float, default=0.1, help="share of long pauses (0.1)")
    a("--long-pause-min", type=float, default=5.0, help="s (5)")
    a("--long-pause-max", type=float, default=15.0, help="s (15)")
    a("--ramp", type=float, default=500.0, help="clients started per second (500)")
    a("--final-timeout", type=float, default=60.0,
      help="seconds each client has to reach the terminal event after the load (60)")
    a("--stall-timeout", type=float, default=30.0,
      help="a stream silent this long (no heartbeat) is reported (30)")
    a("--instance-down", type=float, default=1.0, dest="instance_down_s",
      help="seconds instance B stays down on its restart (1)")
    a("--redis-down", type=float, default=1.0, dest="redis_down_s",
      help="seconds Redis stays down on its restart (1)")
    a("--settle", type=float, default=3.0, help="seconds after the clients close before "
                                                 "the memory is read (3)")
    a("--rss-growth-limit-mib", type=float, default=16.0,
      help="VmRSS after the clients closed may exceed VmRSS before the load by this "
           "much (16)")
    a("--leak-streams", type=int, default=50,
      help="streams per instance held open at the final SIGTERM (50)")
    a("--strict-plain", action="store_true",
      help="also fail on plain-mode events lost in Redis outages or instance restarts "
           "(documented plain-mode behaviour)")
    a("--sluice", default=os.environ.get("SLUICE_BIN", os.path.join(REPO, "build", "sluice")),
      help="sluice binary for instance A (and B) ($SLUICE_BIN or build/sluice)")
    a("--sluice-b", default=None,
      help="sluice binary for instance B, the one restarted under load; e.g. "
           "build-asan/sluice for the LeakSanitizer exits")
    a("--redis-server", default=shutil.which("redis-server"), help="redis-server binary")
    a("--workdir", default=None, help="keep configs and logs here (default: a temp dir)")
    a("--keep", action="store_true", help="keep the work directory after a clean run")
    a("--json-out", default=None, help="write the full result as JSON here")
    a("--seed", type=int, default=None, help="random seed (sessions, pauses)")
    a("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.quick:
        defaults = {act.dest: act.default for act in p._actions}
        for k, v in QUICK.items():
            if getattr(args, k) == defaults[k]:
                setattr(args, k, v)
    if not args.redis_server or not os.access(args.redis_server, os.X_OK):
        p.error("redis-server not found (install it, or pass --redis-server)")
    for b in (args.sluice, args.sluice_b):
        if b and not os.access(b, os.X_OK):
            p.error(f"sluice binary {b} is not executable (build it, or pass --sluice)")
    # The children run in their own directories: paths must not depend on ours.
    args.sluice = os.path.abspath(args.sluice)
    args.sluice_b = args.sluice_b and os.path.abspath(args.sluice_b)
    args.redis_server = os.path.abspath(args.redis_server)
    if args.streams + args.pollers < 1 or args.channels + args.hot_channels + \
            args.burst_channels < 1:
        p.error("need at least one client and one channel")
    return args


def main(argv=None):
    args = parse_args(argv)
    result = asyncio.run(soak.run(args))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1, default=str)
    print(report_text.summary(result), file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
