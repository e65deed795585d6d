"""client_buffer bounds what the kernel would not take, not what one loop turn
queued. Events larger than the buffer (600 KiB and 1 MiB against the default 256 KiB) and a
2.5 MiB burst published to Redis in one pipeline reach every reading client whole, and
nobody who reads is cut; a client that never reads (small SO_RCVBUF) is still cut as slow
once its refused bytes stay over the buffer (metric and access-log reason "slow")."""

import unittest

from harness import SseClient, metric_sum, metrics, wait_metric, wait_until
from redis_harness import RedisGatewayTestCase

SLOW_METRIC = "sluice_sse_slow_disconnects_total"
ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
    heartbeat: 1s
"""
# Default client_buffer (256KiB); events up to 1 MiB must fit the event size limit.
LIMITS = {"max_event_size": "2MiB"}


def payload(tag, size):
    head = f"{tag}:"
    return head + "x" * (size - len(head))


class SlowBurstTest(RedisGatewayTestCase):
    ROUTES = ROUTES
    LIMITS = LIMITS

    def client(self, path, **kw):
        c = SseClient(self.gw.port, path, timeout=10, **kw)
        self.addCleanup(c.close)
        self.assertEqual(c.status, 200)
        c.next_event(5, all_blocks=True)  # the retry: block: subscribed and live
        return c

    def slow_count(self):
        return metric_sum(metrics(self.gw.port), SLOW_METRIC)

    def slow_stream_lines(self, channel):
        return [l for l in self.gw.access_log_lines()
                if l.get("type") == "stream" and l.get("channel") == channel
                and l.get("reason") == "slow"]

    def test_events_larger_than_the_buffer_reach_readers_and_a_stalled_client_is_cut(self):
        slow_before = self.slow_count()
        readers = [self.client("/s/big") for _ in range(3)]
        stalled = self.client("/s/big", rcvbuf=4096)  # never read from here on
        # 600 KiB and 1 MiB first; then more 1 MiB events, because the kernel alone takes
        # up to about 4 MiB (tcp_wmem) from a client that does not read, and only what it
        # refuses counts. At most 10 MiB in all.
        sizes = [600 * 1024] + [1024 * 1024] * 9
        for n, size in enumerate(sizes, 1):
            body = payload(f"big{n}", size)
            self.assertGreaterEqual(self.redis.publish("c:big", body), 1)
            for r in readers:
                event = r.next_event(15)
                self.assertIsNotNone(event, f"reader got no event {n} (closed={r.closed})")
                self.assertEqual((event["id"], len(event["data"])), (str(n), size))
                self.assertEqual(event["data"], body)
            if n >= 2 and self.slow_count() > slow_before:
                break
        # The stalled client's refused bytes stayed over the buffer: cut, exactly once.
        wait_metric(self.gw.port, SLOW_METRIC, lambda v: v >= slow_before + 1, timeout=10,
                    what="the stalled client to be cut as slow")
        wait_until(lambda: self.slow_stream_lines("c:big"), 5,
                   what="an access-log stream line with reason slow")
        self.assertEqual(len(self.slow_stream_lines("c:big")), 1)
        # The readers are still connected and get the next event.
        self.redis.publish("c:big", "after")
        for r in readers:
            self.assertEqual(r.next_event(10)["data"], "after")
            self.assertFalse(r.closed)
        self.assertEqual(self.slow_count(), slow_before + 1)
        # What the stalled client gets is whatever the kernel had, then the close.
        self.assertTrue(stalled.wait_closed(15), "the stalled connection was not closed")
        self.assertNotIn("after", [e["data"] for e in stalled.queued()])

    def test_pipelined_burst_of_2_5_mib_reaches_every_reader(self):
        slow_before = self.slow_count()
        readers = [self.client("/s/burst") for _ in range(3)]
        bodies = [payload(f"b{i:04d}", 4096) for i in range(640)]  # 640 x 4 KiB = 2.5 MiB
        replies = self.redis.pipeline(*[("PUBLISH", "c:burst", b) for b in bodies])
        self.assertTrue(all(isinstance(r, int) and r >= 1 for r in replies), replies[:3])
        for r in readers:
            got = r.read_events(len(bodies), timeout=30)
            self.assertEqual([int(e["id"]) for e in got], list(range(1, len(bodies) + 1)))
            self.assertEqual([e["data"] for e in got], bodies)
        self.redis.publish("c:burst", "after")
        for r in readers:
            self.assertEqual(r.next_event(10)["data"], "after")
            self.assertFalse(r.closed)
        self.assertEqual(self.slow_count(), slow_before)
        self.assertEqual(self.slow_stream_lines("c:burst"), [])


if __name__ == "__main__":
    unittest.main()
