#!/usr/bin/env python3
"""Reproduces a soak finding (needless_gap): Redis restarts with its data (SAVE before the
stop), a worker FCALLs a sequenced event every 20 ms from the moment it is back, and a
client that stayed connected receives `event: gap` for positions Redis still holds
(e.g. {"from": 4, "to": 6}) instead of the events. Exit status 1 if it happened in any of
the tries (default 6), 0 if not.
Run: SLUICE_BIN=build/sluice python3 bench/soak/repro/gap_after_redis_restart.py"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "integration"))
if os.environ.get("SLUICE_BIN"):  # the harness starts sluice in a temp dir
    os.environ["SLUICE_BIN"] = os.path.abspath(os.environ["SLUICE_BIN"])

from harness import SseClient  # noqa: E402
from redis_harness import RedisServer, redis_config, start_gateway, wait_ready  # noqa: E402


def one_try():
    redis = RedisServer().start()
    gw = start_gateway(redis_config(redis.port, workers=2), redis)
    try:
        client = SseClient(gw.port, "/s/x")
        redis.fcall_many("c:x", ["e1", "e2", "e3"])
        client.read_events(3)
        redis.stop(save=True)
        redis.start()
        for i in range(4, 80):
            redis.fcall_publish("c:x", f"e{i}")
            time.sleep(0.02)
        wait_ready(gw.port)
        wrong = []
        while (ev := client.next_event(2.0)) is not None:
            if ev["event"] is not None or ev["data"] != f"e{ev['id']}":
                wrong.append((ev["event"], ev["id"], ev["data"]))
        client.close()
        return wrong
    finally:
        gw.stop()
        gw.cleanup()
        redis.cleanup()


def main(tries=6):
    bad = 0
    for i in range(tries):
        wrong = one_try()
        print(f"try {i}: " + (f"WRONG {wrong}" if wrong else "ok"))
        bad += bool(wrong)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
