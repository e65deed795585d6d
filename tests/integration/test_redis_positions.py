"""Positions are exact with Redis (issue 8): in plain and sequenced mode a channel whose
events expired keeps counting (the Redis counter lives for broker.history.positions_ttl,
the log for ttl) and a resume into expired history gets {N+1, head}; after positions_ttl
the counter restarts and a client claiming an old position gets the reset gap, then the
new events; a plain PUBLISH shaped like a sequenced envelope is only ever a plain payload
(refused: it has NUL bytes); forged envelopes on the sequenced namespace, and positions
above 2^53-1 in Redis, are refused and logged, never taken as positions."""

import json
import unittest

from harness import (get_json, ids, metric_sum, metrics, publish, wait_metric, wait_until)
from redis_harness import RedisGatewayTestCase, RespError, log_key, seq_key

MAX = 2**53 - 1  # the largest position: exact in JavaScript and in Redis's Lua

ROUTES = """
- path: /t/{id}
  sse:
    channel: t:{id}
    history: {ttl: 1s}
- path: /tp/{id}
  poll:
    channel: t:{id}
- path: /s/{id}
  sse:
    channel: c:{id}
    history: {ttl: 1s}
- path: /p/{id}
  poll:
    channel: c:{id}
"""


def envelope(position, payload, event=b""):
    return b"\x00sluice1\x00" + str(position).encode() + b"\x00" + event + b"\x00" + payload


def gap_of(event):
    assert event["event"] == "gap", event
    assert event["id"] is None, event
    return json.loads(event["data"])


class PositionsCase(RedisGatewayTestCase):
    ROUTES = ROUTES

    def poll(self, path):
        status, _, doc = get_json(self.port, path)
        self.assertEqual(status, 200, doc)
        return doc

    def wait_messages(self, mode, before, n):
        wait_metric(self.port, "sluice_broker_messages_total", lambda v: v >= before + n,
                    f"{n} {mode} messages to arrive", mode=mode)

    def count(self, name, **labels):
        return metric_sum(metrics(self.port), name, **labels)

    def wait_local_history_gone(self, ch):
        wait_until(lambda: self.poll(f"/tp/{ch}?position=0")["events"] == [], timeout=10,
                   what="local history to expire")

    def wait_loop_dropped_channels(self):
        wait_until(lambda: self.count("sluice_channels") == 0, timeout=10,
                   what="the worker loop to drop its idle channels")

    def stream(self, path, headers=None):
        client = self.sse(path, headers)
        self.assertEqual(client.status, 200)
        return client


class RedisPositionsTest(PositionsCase):
    # Redis keeps the log 1s and the counter 1h.
    HISTORY = "{size: 1000, ttl: 1s, positions_ttl: 1h}"

    def test_plain_count_continues_after_history_expired(self):
        ch = self.channel_id()
        before = self.count("sluice_broker_messages_total", mode="plain")
        for i in range(1, 4):
            self.redis.publish(f"t:{ch}", f"e{i}")
        self.wait_messages("plain", before, 3)
        self.wait_local_history_gone(ch)
        self.wait_loop_dropped_channels()  # where the head used to be forgotten
        client = self.stream(f"/t/{ch}?position=1")
        self.assertEqual(gap_of(client.read_events(1)[0]), {"from": 2, "to": 3})
        self.redis.publish(f"t:{ch}", "e4")
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["data"]), ("4", "e4"))

    def test_sequenced_count_continues_after_history_expired(self):
        ch = self.channel_id()
        self.assertEqual(self.redis.fcall_many(f"t:{ch}", ["e1", "e2", "e3"]), [1, 2, 3])
        # The counter lives for positions_ttl, the log only for ttl.
        self.assertGreater(self.redis.cmd("PTTL", seq_key(f"t:{ch}")), 60_000)
        self.assertLessEqual(self.redis.cmd("PTTL", log_key(f"t:{ch}")), 1000)
        wait_until(lambda: self.redis.cmd("EXISTS", log_key(f"t:{ch}")) == 0, timeout=10,
                   what="the Redis log to expire")
        self.assertEqual(self.redis.cmd("EXISTS", seq_key(f"t:{ch}")), 1)
        self.wait_local_history_gone(ch)
        client = self.stream(f"/t/{ch}", {"Last-Event-ID": "1"})
        self.assertEqual(gap_of(client.read_events(1)[0]), {"from": 2, "to": 3})
        self.assertEqual(self.redis.fcall_publish(f"t:{ch}", "e4"), 4)
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["data"]), ("4", "e4"))

    def test_plain_envelope_shaped_publish_is_a_plain_payload(self):
        # Position 2^64-1 in a forged envelope used to be taken as a sequenced event and
        # loop streams forever. Now it is a plain payload with NUL bytes: refused, counted,
        # and no position is used up.
        ch = self.channel_id()
        client = self.stream(f"/s/{ch}")
        client.next_event(5, all_blocks=True)  # retry:
        nul = self.count("sluice_broker_messages_dropped_total", reason="nul")
        bad = self.count("sluice_broker_messages_dropped_total", reason="bad_envelope")
        self.redis.publish(f"c:{ch}", envelope(2**64 - 1, b'{"type":"forged"}'))
        self.redis.publish(f"c:{ch}", envelope(1, b'{"type":"forged"}'))
        self.redis.publish(f"c:{ch}", "real1")
        self.redis.publish(f"c:{ch}", "real2")
        events = client.read_events(2)
        self.assertEqual([(e["id"], e["data"]) for e in events], [("1", "real1"), ("2", "real2")])
        self.assertIsNone(client.next_event(0.3))
        wait_metric(self.port, "sluice_broker_messages_dropped_total",
                    lambda v: v == nul + 2, "both forgeries counted as NUL payloads",
                    reason="nul")
        self.assertEqual(self.count("sluice_broker_messages_dropped_total",
                                    reason="bad_envelope"), bad)

    def test_forged_envelopes_on_the_sequenced_namespace_are_refused(self):
        ch = self.channel_id()
        client = self.stream(f"/s/{ch}")
        bad = self.count("sluice_broker_messages_dropped_total", reason="bad_envelope")
        forged = [envelope(2**64 - 1, b"x"), envelope(MAX + 1, b"x"), envelope(0, b"x"),
                  b"not an envelope"]
        for data in forged:
            self.assertEqual(self.redis.publish(f"sluice:seq:c:{ch}", data), 1)
        wait_metric(self.port, "sluice_broker_messages_dropped_total",
                    lambda v: v == bad + len(forged), "forged envelopes counted",
                    reason="bad_envelope")
        self.gw.wait_log(lambda l: l.get("msg") == "malformed sluice envelope dropped"
                         and l.get("channel") == f"sluice:seq:c:{ch}")
        # The channel is untouched: the real next event is 1 and arrives alone.
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "real"), 1)
        events = client.read_events(1)
        self.assertEqual([(e["id"], e["data"]) for e in events], [("1", "real")])
        self.assertIsNone(client.next_event(0.3))

    def test_sequenced_namespace_is_subscribed_beside_the_plain_one(self):
        # One plain and one sequenced pattern per route channel template.
        patterns = self.redis.cmd("PUBSUB", "NUMPAT")
        self.assertEqual(patterns, 4)  # t:* and c:*, and sluice:seq:t:*, sluice:seq:c:*
        ch = self.channel_id()
        self.assertEqual(self.redis.publish(f"sluice:seq:c:{ch}", "x"), 1)
        self.assertEqual(self.redis.publish(f"c:{ch}", "x"), 1)

    def test_largest_redis_position_is_delivered_and_the_next_refused(self):
        ch = self.channel_id()
        self.redis.cmd("SET", seq_key(f"c:{ch}"), str(MAX - 1))
        client = self.stream(f"/s/{ch}?position={MAX - 1}")
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "last"), MAX)
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["data"]), (str(MAX), "last"))
        # The function refuses to count further (and leaves the counter as it was): FCALL
        # fails, the HTTP publish answers 503, nothing wraps.
        with self.assertRaises(RespError) as refused:
            self.redis.fcall_publish(f"c:{ch}", "one too many")
        self.assertIn("no positions left", str(refused.exception))
        status, _, _ = publish(self.port, f"c:{ch}", "one too many")
        self.assertEqual(status, 503)
        self.assertEqual(self.redis.cmd("GET", seq_key(f"c:{ch}")), str(MAX).encode())
        self.assertIsNone(client.next_event(0.3))
        doc = self.poll(f"/p/{ch}?position={MAX}")
        self.assertEqual((doc["events"], doc["position"]), ([], MAX))
        self.assertNotIn("gap", doc)

    def test_counter_above_2_53_in_redis_is_refused_and_logged(self):
        ch = self.channel_id()
        self.redis.cmd("SET", seq_key(f"c:{ch}"), str(2**64 - 1))
        client = self.stream(f"/s/{ch}?position=3")
        self.gw.wait_log(lambda l: l.get("msg") ==
                         "channel counter in redis is not a valid position; ignored"
                         and l.get("channel") == f"c:{ch}" and l.get("value") == str(2**64 - 1))
        # Served from what sluice knows (nothing): the ordinary reset gap for 3, no wrap.
        self.assertEqual(gap_of(client.read_events(1)[0]), {"from": 1, "to": 3, "reset": True})

    def test_a_late_copy_of_position_1_is_not_a_restart(self):
        # The hub can take a channel's head from Redis (a loop loads it) before pub/sub
        # has brought the events below it, as a second instance does under load. The
        # count's own position 1 arriving then is a late copy: the counter (still at the
        # head) says so, and readers are not told of a reset nor sent the event twice.
        ch = self.channel_id()
        self.redis.cmd("SET", seq_key(f"c:{ch}"), "15")
        client = self.stream(f"/s/{ch}?position=15")
        self.assertEqual(self.poll(f"/p/{ch}?position=15")["position"], 15)
        before = self.count("sluice_broker_messages_total", mode="sequenced")
        self.assertEqual(self.redis.publish(f"sluice:seq:c:{ch}", envelope(1, b"copy-of-1")), 1)
        self.wait_messages("sequenced", before, 1)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "e16"), 16)
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["event"], event["data"]), ("16", None, "e16"))
        doc = self.poll(f"/p/{ch}?position=15")
        self.assertEqual(([e["id"] for e in doc["events"]], doc["position"]), ([16], 16))
        self.assertNotIn("gap", doc)
        self.assertFalse([l for l in self.gw.error_log_json()
                          if l.get("msg") == "channel positions reset by redis"])


class RedisPositionsTtlTest(PositionsCase):
    # Redis keeps the log 1s and the counter 2s.
    HISTORY = "{size: 1000, ttl: 1s, positions_ttl: 2s}"

    def test_sequenced_positions_restart_after_positions_ttl_with_a_reset_gap(self):
        ch = self.channel_id()
        self.assertEqual(self.redis.fcall_many(f"c:{ch}", ["old1", "old2", "old3"]), [1, 2, 3])
        wait_until(lambda: self.redis.cmd("EXISTS", seq_key(f"c:{ch}")) == 0, timeout=10,
                   what="the Redis counter to expire after positions_ttl")
        self.assertEqual(self.redis.fcall_many(f"c:{ch}", ["new1", "new2"]), [1, 2])
        wait_until(lambda: [e["data"] for e in self.poll(f"/p/{ch}?position=0")["events"]]
                   == ["new1", "new2"], what="sluice to take in the restarted channel")
        client = self.stream(f"/s/{ch}", {"Last-Event-ID": "3"})
        gap, first, second = client.read_events(3)
        self.assertEqual(gap_of(gap), {"from": 1, "to": 3, "reset": True})
        self.assertEqual([(e["id"], e["data"]) for e in (first, second)],
                         [("1", "new1"), ("2", "new2")])
        doc = self.poll(f"/p/{ch}?position=3")
        self.assertEqual(doc["gap"], {"from": 1, "to": 3, "reset": True})
        self.assertEqual([e["id"] for e in doc["events"]], [1, 2])
        self.assertEqual(doc["position"], 2)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "new3"), 3)
        self.assertEqual(ids(client.read_events(1)), [3])


class SequencedNamespaceOverlapTest(PositionsCase):
    # channel "{id}" subscribes to "*", which also covers sluice:seq:*.
    ROUTES = """
- path: /any/{id}
  sse:
    channel: "{id}"
"""

    def test_a_pattern_covering_the_sequenced_namespace_takes_each_event_once(self):
        ch = self.channel_id()
        client = self.stream(f"/any/{ch}")
        dropped = self.count("sluice_broker_messages_dropped_total")
        self.assertEqual(self.redis.fcall_publish(ch, "one"), 1)
        self.assertEqual([(e["id"], e["data"]) for e in client.read_events(1)], [("1", "one")])
        self.assertIsNone(client.next_event(0.3))
        self.assertEqual(self.count("sluice_broker_messages_dropped_total"), dropped)
        self.assertFalse(any(l.get("msg") == "redis message dropped" for l in self.gw.error_log_json()))


if __name__ == "__main__":
    unittest.main()
