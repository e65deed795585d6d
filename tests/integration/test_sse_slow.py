"""Backpressure: a live client that stops reading is disconnected once its unsent bytes
pass limits.client_buffer (metric, access log reason "slow") without slowing a fast
client on the same channel; a long replay to a slow-but-steady reader is paced by its
socket and is never counted as slow."""

import time
import unittest

from harness import (Conn, Gateway, SseClient, ids, make_config, metric_sum, metrics,
                     publish_many, publish_position)

SLOW_METRIC = "sluice_sse_slow_disconnects_total"


class SlowClientTest(unittest.TestCase):
    def test_stalled_live_client_disconnected_fast_client_unaffected(self):
        with Gateway(make_config(limits={"client_buffer": "8KiB"})) as gw:
            stalled = SseClient(gw.port, "/s/slow", rcvbuf=4096)  # never read after this
            self.addCleanup(stalled.close)
            fast = SseClient(gw.port, "/s/slow")
            self.addCleanup(fast.close)
            self.assertEqual((stalled.status, fast.status), (200, 200))
            fast.next_event(5, all_blocks=True)  # retry: subscribed

            # Lock-step: each event is published only after the fast client has read the
            # previous one, so only the stalled client can build up a backlog. The kernel
            # absorbs a few MiB first; then the backlog must stay over the buffer for the
            # 1 s grace, so the loop is bounded by time (paced, so a broken rule cannot
            # grow memory far), not by a count that a fast machine sends in under a second.
            payload = "x" * 2048
            publisher = Conn(gw.port)
            self.addCleanup(publisher.close)
            disconnected = False
            last = 0
            deadline = time.monotonic() + 30
            i = 0
            while time.monotonic() < deadline:
                last = publish_position(gw.port, "c:slow", payload, conn=publisher)
                event = fast.next_event(5)
                self.assertIsNotNone(event, f"fast client stalled at event {last}")
                self.assertEqual((event["id"], len(event["data"])), (str(last), len(payload)))
                i += 1
                if i % 100 == 0:
                    if metric_sum(metrics(gw.port), SLOW_METRIC) >= 1:
                        disconnected = True
                        break
                    time.sleep(0.05)  # at most ~2000 events (4 MiB) a second
            self.assertTrue(disconnected, f"stalled client never disconnected ({last} events)")

            # The fast client keeps receiving after the slow one is gone.
            more = publish_position(gw.port, "c:slow", "after", conn=publisher)
            self.assertEqual(fast.next_event(5)["id"], str(more))

            # The stalled client gets what the kernel had buffered, then the close.
            self.assertTrue(stalled.wait_closed(20), "stalled connection was not closed")
            got = [int(e["id"]) for e in stalled.queued() if e["id"]]
            self.assertLess(max(got, default=0), last, "stalled client cannot have everything")

            gw.stop()
            streams = [l for l in gw.access_log_lines() if l.get("type") == "stream"]
            self.assertIn("slow", [l.get("reason") for l in streams], streams)

    def test_long_replay_to_slow_reader_is_not_slow(self):
        limits = {"client_buffer": "16KiB"}
        routes = """
        - path: /s/{id}
          sse:
            channel: c:{id}
            history: {size: 2000}
        """
        with Gateway(make_config(routes=routes, limits=limits)) as gw:
            payloads = [f"{i:06d}" + "r" * 1018 for i in range(1, 2001)]  # 1KiB each
            positions = publish_many(gw.port, "c:replay", payloads)
            self.assertEqual(positions[-1], 2000)

            client = SseClient(gw.port, "/s/replay", rcvbuf=16384, timeout=10)
            self.addCleanup(client.close)
            self.assertEqual(client.status, 200)
            received = []
            deadline = time.monotonic() + 60
            while len(received) < 2000 and time.monotonic() < deadline:
                event = client.next_event(10)
                if event is None:
                    break
                received.append(event)
                time.sleep(0.001)  # a slow but steady reader: about 1MiB/s
            self.assertFalse(client.closed, f"replay cut off after {len(received)} events")
            self.assertEqual(ids(received), list(range(1, 2001)))
            self.assertEqual([e["data"] for e in received], payloads)
            self.assertEqual(metric_sum(metrics(gw.port), SLOW_METRIC), 0)

            live = publish_position(gw.port, "c:replay", "live")
            self.assertEqual(client.next_event(5)["id"], str(live))


if __name__ == "__main__":
    unittest.main()
