#!/usr/bin/env python3
"""Reproduces a soak finding (bad_gap, then a duplicate): a client that got event N of a
sequenced channel from instance A and resumes at once on instance B with Last-Event-ID: N,
before B has taken N from Redis, gets `event: gap` {"from": N, "to": N} and then event N
a second time. Exit status 1 if it happened (in 200 tries), 0 if not.
Run: SLUICE_BIN=build/sluice python3 bench/soak/repro/instance_behind.py"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "integration"))
if os.environ.get("SLUICE_BIN"):  # the harness starts sluice in a temp dir
    os.environ["SLUICE_BIN"] = os.path.abspath(os.environ["SLUICE_BIN"])

from harness import SseClient  # noqa: E402
from redis_harness import RedisServer, redis_config, start_gateway  # noqa: E402


def main(tries=200):
    redis = RedisServer().start()
    cfg = redis_config(redis.port, workers=2)
    a, b = start_gateway(cfg, redis), start_gateway(cfg, redis)
    seen = 0
    try:
        keep = SseClient(b.port, "/s/y")  # B holds the channel, as under load
        on_a = SseClient(a.port, "/s/y")
        for i in range(1, tries + 1):
            redis.fcall_publish("c:y", f"e{i}")
            got = on_a.next_event(2.0)
            on_b = SseClient(b.port, "/s/y", {"Last-Event-ID": got["id"]})
            first = on_b.next_event(0.3)
            if first is not None:
                seen += 1
                again = on_b.next_event(0.3)
                print(f"resume at {got['id']} on B: {first['event']} {first['data']}, "
                      f"then id {again and again['id']}")
            on_b.close()
        keep.close()
        on_a.close()
    finally:
        for gw in (a, b):
            gw.stop()
            gw.cleanup()
        redis.cleanup()
    print(f"{seen} of {tries} resumes got something other than nothing-new")
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
