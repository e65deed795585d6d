"""broker: redis, plain mode (workers run PUBLISH) and the HTTP publish endpoint: sluice
subscribes to the route pattern ahead of clients and numbers events 1,2,3 itself; events
published before a client connects are replayed; polling; bad payloads are dropped and
counted without taking a position; HTTP publishing is sequenced (stored in Redis)."""

import json
import time
import unittest

from harness import (DEFAULT_ROUTES, Conn, build_request, get_json, ids, metric_sum, metrics,
                     publish, wait_metric)
from redis_harness import RedisGatewayTestCase, log_key, seq_key

MAX_EVENT = 1024



class RedisPlainTest(RedisGatewayTestCase):
    ROUTES = DEFAULT_ROUTES  # /s/{id} stream and /p/{id} poll on c:{id}
    LIMITS = {"max_event_size": MAX_EVENT}

    def plain_count(self):
        return metric_sum(metrics(self.port), "sluice_broker_messages_total", mode="plain")

    def wait_plain(self, before, n):
        """Waits until sluice has taken n more plain messages off the subscription."""
        wait_metric(self.port, "sluice_broker_messages_total", lambda v: v >= before + n,
                    f"{n} plain messages to arrive", mode="plain")

    def open_stream(self, ch, query=""):
        client = self.sse(f"/s/{ch}{query}")
        self.assertEqual(client.status, 200)
        client.next_event(5, all_blocks=True)  # the retry: block
        return client

    def test_route_pattern_is_subscribed(self):
        # One pattern per route channel template (c:{id} -> c:*), and its twin on the
        # sequenced namespace (sluice:seq:c:*), on one connection.
        self.assertEqual(self.redis.cmd("PUBSUB", "NUMPAT"), 2)
        self.assertEqual(self.redis.publish(f"c:{self.channel_id()}", "x"), 1)
        self.assertEqual(self.redis.publish(f"other:{self.channel_id()}", "x"), 0)
        self.assertGreaterEqual(metric_sum(metrics(self.port), "sluice_broker_subscriptions"), 1)
        self.assertEqual(metric_sum(metrics(self.port), "sluice_broker_up"), 1)

    def test_publish_reaches_open_stream(self):
        ch = self.channel_id()
        client = self.open_stream(ch)
        payloads = ['{"type":"chunk","text":"Hel"}', '{"type":"chunk","text":"lo"}', "third"]
        for p in payloads:
            self.assertGreaterEqual(self.redis.publish(f"c:{ch}", p), 1)
        events = client.read_events(3)
        self.assertEqual(ids(events), [1, 2, 3])
        self.assertEqual([e["data"] for e in events], payloads)
        self.assertEqual([e["event"] for e in events], [None, None, None])

    def test_events_before_connect_are_replayed(self):
        ch = self.channel_id()
        before = self.plain_count()
        for i in range(1, 4):
            self.redis.publish(f"c:{ch}", f"early{i}")
        self.wait_plain(before, 3)  # all three are in sluice's history before any client
        events = self.open_stream(ch).read_events(3)
        self.assertEqual(ids(events), [1, 2, 3])
        self.assertEqual([e["data"] for e in events], ["early1", "early2", "early3"])
        resumed = self.open_stream(ch, "?position=1").read_events(2)
        self.assertEqual(ids(resumed), [2, 3])

    def test_poll(self):
        ch = self.channel_id()
        before = self.plain_count()
        self.redis.publish(f"c:{ch}", "one")
        self.redis.publish(f"c:{ch}", "two")
        self.wait_plain(before, 2)
        status, _, body = get_json(self.port, f"/p/{ch}?position=0")
        self.assertEqual(status, 200)
        self.assertEqual(body["events"], [{"id": 1, "event": None, "data": "one"},
                                          {"id": 2, "event": None, "data": "two"}])
        self.assertEqual((body["position"], body["done"]), (2, False))

        conn = Conn(self.port, timeout=10)  # a long poll, answered by the next PUBLISH
        self.addCleanup(conn.close)
        conn.send(build_request("GET", f"/p/{ch}?position=2&wait=8"))
        time.sleep(0.2)
        started = time.monotonic()
        self.redis.publish(f"c:{ch}", '{"type":"done"}')
        status, _, raw = conn.read_response()
        self.assertLess(time.monotonic() - started, 4, "the long poll was not answered promptly")
        body = json.loads(raw)
        self.assertEqual(status, 200)
        self.assertEqual(body["events"], [{"id": 3, "event": None, "data": '{"type":"done"}'}])
        self.assertEqual((body["position"], body["done"]), (3, True))

    def test_bad_payloads_are_dropped_without_a_position(self):
        ch = self.channel_id()
        client = self.open_stream(ch)
        m = metrics(self.port)
        dropped = {r: metric_sum(m, "sluice_broker_messages_dropped_total", reason=r)
                   for r in ("too_large", "invalid_utf8", "nul")}
        bad = {
            "too_large": [b"x" * (MAX_EVENT + 1)],
            "invalid_utf8": [b"\xff", b"abc\xe2\x82", b"\xc0\xaf"],
            # A plain message shaped like a sequenced envelope is just a plain payload.
            "nul": [b"a\x00b", b"\x00", b"\x00sluice1\x00notanumber\x00\x00payload",
                    b"\x00sluice1\x005\x00\x00payload"],
        }
        self.redis.publish(f"c:{ch}", "good1")
        for payloads in bad.values():
            for p in payloads:
                self.redis.publish(f"c:{ch}", p)
        at_limit = "y" * MAX_EVENT  # "over max_event_size" is dropped; exactly at it is not
        self.redis.publish(f"c:{ch}", at_limit)
        self.redis.publish(f"c:{ch}", "good3")

        events = client.read_events(3)
        self.assertEqual([e["event"] for e in events], [None, None, None], "no gap event")
        self.assertEqual(ids(events), [1, 2, 3])
        self.assertEqual([e["data"] for e in events], ["good1", at_limit, "good3"])
        self.assertIsNone(client.next_event(0.3))
        for reason, payloads in bad.items():
            wait_metric(self.port, "sluice_broker_messages_dropped_total",
                        lambda v, want=dropped[reason] + len(payloads): v == want,
                        f"dropped_total{{reason={reason}}}", reason=reason)
        status, _, body = get_json(self.port, f"/p/{ch}?position=0")
        self.assertEqual([e["id"] for e in body["events"]], [1, 2, 3])
        self.assertNotIn("gap", body)

    def test_http_publish_is_sequenced_in_redis(self):
        ch = self.channel_id()
        client = self.open_stream(ch)
        status, _, body = publish(self.port, f"c:{ch}", '{"n":1}')
        self.assertEqual((status, json.loads(body)), (200, {"position": 1}))
        status, _, body = publish(self.port, f"c:{ch}", '{"n":2}', event="tick")
        self.assertEqual((status, json.loads(body)), (200, {"position": 2}))

        events = client.read_events(2)
        self.assertEqual(ids(events), [1, 2])
        self.assertEqual([e["event"] for e in events], [None, "tick"])
        self.assertEqual([e["data"] for e in events], ['{"n":1}', '{"n":2}'])
        self.assertEqual(self.redis.entries(f"c:{ch}"),
                         [(1, {b"p": b'{"n":1}'}), (2, {b"p": b'{"n":2}', b"e": b"tick"})])
        self.assertEqual(self.redis.cmd("GET", seq_key(f"c:{ch}")), b"2")
        # The log lives for broker.history.ttl (1h), the counter for positions_ttl (24h).
        for key, limit in ((log_key(f"c:{ch}"), 3600 * 1000), (seq_key(f"c:{ch}"), 86400 * 1000)):
            ttl = self.redis.cmd("PTTL", key)
            self.assertTrue(limit - 60_000 < ttl <= limit, f"{key} PTTL {ttl}: ttl not set")
        wait_metric(self.port, "sluice_broker_messages_total", lambda v: v >= 2,
                    "the sequenced messages to be counted", mode="sequenced")


if __name__ == "__main__":
    unittest.main()
