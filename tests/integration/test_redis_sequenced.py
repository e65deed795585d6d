"""broker: redis, sequenced mode (workers run FCALL sluice_publish): FCALL's result is the
event id clients see; resuming older than the local ring is served from Redis history;
what Redis no longer holds becomes `event: gap`; two instances on one Redis agree on
positions (a client switches instances mid-stream); a fresh instance serves earlier
events from Redis history."""

import json
import unittest

from harness import (get_json, ids, metric_sum, metrics, publish_position, wait_metric,
                     wait_until)
from redis_harness import (RedisGatewayTestCase, another_gateway, log_key, ready_status, seq_key,
                           wait_ready)

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /r/{id}
  sse:
    channel: r:{id}
    history: {size: 5}
- path: /p/{id}
  poll:
    channel: c:{id}
"""


def read_until_id(client, last_id, limit=10):
    """Events up to and including the one with id last_id."""
    events = []
    while not events or events[-1]["id"] != last_id:
        if len(events) >= limit:
            raise AssertionError(f"no event {last_id} within {limit}: {events}")
        events += client.read_events(1)
    return events


class SequencedCase(RedisGatewayTestCase):
    ROUTES = ROUTES

    def fcall_seeded(self, channel, n, first=1):
        """FCALLs n events (payload "e<pos>") and waits until sluice has taken them in."""
        before = metric_sum(metrics(self.port), "sluice_broker_messages_total",
                            mode="sequenced")
        positions = self.redis.fcall_many(channel, [f"e{i}" for i in range(first, first + n)])
        self.assertEqual(positions, list(range(first, first + n)))
        wait_metric(self.port, "sluice_broker_messages_total", lambda v: v >= before + n,
                    f"{n} sequenced messages to arrive", mode="sequenced")

    def assert_events(self, events, first, last):
        self.assertEqual([e["event"] for e in events], [None] * len(events), f"no gap event: {events}")
        self.assertEqual(ids(events), list(range(first, last + 1)))
        self.assertEqual([e["data"] for e in events], [f"e{i}" for i in range(first, last + 1)])

    def open_stream(self, port, path, headers=None):
        client = self.sse_at(port, path, headers)
        self.assertEqual(client.status, 200)
        return client


class RedisSequencedTest(SequencedCase):

    def test_bad_sequenced_payload_becomes_a_gap(self):
        # The position already exists in Redis, so the event is dropped (counted) and the
        # client is told about the hole instead of having it skipped silently.
        ch = self.channel_id()
        client = self.open_stream(self.port, f"/s/{ch}")
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "e1"), 1)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", b"\xff\xfe"), 2)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "e3"), 3)
        first, gap, third = client.read_events(3)
        self.assertEqual((first["id"], first["data"]), ("1", "e1"))
        self.assertEqual(gap["event"], "gap")
        self.assertEqual(json.loads(gap["data"]), {"from": 2, "to": 2})
        self.assertEqual((third["id"], third["data"]), ("3", "e3"))
        wait_metric(self.port, "sluice_broker_messages_dropped_total", lambda v: v >= 1,
                    "the drop to be counted", reason="invalid_utf8")

    def test_a_refused_history_read_holds_streams_instead_of_reporting_a_gap(self):
        # A read of Redis history that Redis refuses (here an ACL without XRANGE; in
        # production LOADING after a restart, or BUSY) says nothing about what Redis
        # holds. The feed must not take it for "nothing there" and tell clients about a
        # gap: it holds streams, retries after a reconnect, and delivers what was there.
        ch = self.channel_id()
        client = self.open_stream(self.port, f"/s/{ch}")
        self.fcall_seeded(f"c:{ch}", 2)
        self.assert_events(client.read_events(2), 1, 2)
        channel = f"c:{ch}"
        self.redis.cmd("ACL", "SETUSER", "default", "-xrange")
        try:
            # Position 3 is stored without its pub/sub message, so 4 arrives as a jump
            # and the feed must read 3 from history.
            self.assertEqual(self.redis.cmd("INCR", seq_key(channel)), 3)
            self.redis.cmd("XADD", log_key(channel), "3-0", "p", "e3")
            self.assertEqual(self.redis.fcall_publish(channel, "e4"), 4)
            wait_until(lambda: ready_status(self.port) == 503, what="the gateway to hold streams")
            wait_metric(self.port, "sluice_broker_up", lambda v: v == 0, "the broker to report down")
        finally:
            self.redis.cmd("ACL", "SETUSER", "default", "+xrange")
        wait_ready(self.port)
        self.assert_events(client.read_events(2), 3, 4)

    def test_bad_event_names_from_fcall_become_gaps(self):
        # The function refuses CR, LF and NUL itself; sluice applies the rest of the rules
        # for event names (UTF-8, no control character, not "gap") to what Redis sends,
        # live and read back from history alike: such an event is a counted hole.
        ch = self.channel_id()
        client = self.open_stream(self.port, f"/s/{ch}")
        names = [b"caf\xc3", b"a\x01b", b"gap"]
        positions = [self.redis.fcall_publish(f"c:{ch}", "e1")]
        positions += [self.redis.fcall_publish(f"c:{ch}", f"bad{i}", n) for i, n in enumerate(names)]
        positions.append(self.redis.fcall_publish(f"c:{ch}", "e5", "done-ok"))
        self.assertEqual(positions, [1, 2, 3, 4, 5])
        wait_metric(self.port, "sluice_broker_messages_dropped_total", lambda v: v >= 3,
                    "the drops to be counted", reason="bad_event_name")
        with another_gateway(self.config(), self.redis) as late:
            for reader in (client, self.open_stream(late.port, f"/s/{ch}")):
                events = read_until_id(reader, "5")
                self.assertEqual((events[0]["id"], events[0]["data"]), ("1", "e1"))
                self.assertEqual((events[-1]["event"], events[-1]["data"]), ("done-ok", "e5"))
                # Positions 2..4 are reported as gaps (one or several), nothing else.
                gaps = [json.loads(e["data"]) for e in events[1:-1]]
                self.assertTrue(all(e["event"] == "gap" for e in events[1:-1]), events)
                covered = [p for g in gaps for p in range(g["from"], g["to"] + 1)]
                self.assertEqual(covered, [2, 3, 4], events)

    def test_fcall_position_is_the_event_id(self):
        ch = self.channel_id()
        client = self.open_stream(self.port, f"/s/{ch}")
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", '{"type":"chunk"}'), 1)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "two", event="progress"), 2)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "three"), 3)
        # The HTTP publish endpoint runs the same function: it continues the sequence.
        self.assertEqual(publish_position(self.port, f"c:{ch}", "four"), 4)
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", '{"type":"done"}'), 5)

        events = client.read_events(5)
        self.assertEqual(ids(events), [1, 2, 3, 4, 5])
        self.assertEqual([e["event"] for e in events], [None, "progress", None, None, None])
        self.assertEqual([e["data"] for e in events],
                         ['{"type":"chunk"}', "two", "three", "four", '{"type":"done"}'])
        self.assertTrue(client.wait_closed(5), "a terminal event ends the stream")
        self.assertEqual([p for p, _ in self.redis.entries(f"c:{ch}")], [1, 2, 3, 4, 5])

    def test_resume_older_than_local_ring_reads_redis(self):
        ch = self.channel_id()
        recovered = metric_sum(metrics(self.port), "sluice_broker_recovered_total")
        self.fcall_seeded(f"r:{ch}", 30)  # the route keeps 26..30; Redis keeps all 30
        client = self.open_stream(self.port, f"/r/{ch}?position=3")
        self.assert_events(client.read_events(27, timeout=10), 4, 30)
        self.assertIsNone(client.next_event(0.3))
        self.assertEqual(self.redis.fcall_publish(f"r:{ch}", "e31"), 31)
        self.assert_events(client.read_events(1), 31, 31)
        # 4..25 had to come back from Redis.
        wait_metric(self.port, "sluice_broker_recovered_total",
                    lambda v: v >= recovered + 22, "recovered_total to count the backfill")

    def test_two_instances_agree_and_a_client_switches(self):
        ch = self.channel_id()
        with another_gateway(self.config(), self.redis) as other:
            self.redis.fcall_many(f"c:{ch}", [f"e{i}" for i in range(1, 11)])
            first = self.open_stream(self.port, f"/s/{ch}")
            self.assert_events(first.read_events(5), 1, 5)
            first.close()
            self.assertEqual(self.redis.fcall_many(f"c:{ch}", [f"e{i}" for i in range(11, 16)]),
                             list(range(11, 16)))
            # B's pub/sub has brought all 15 before its loop loads the channel: this test is
            # about the switch. (B loading it first, with pub/sub late, is
            # test_redis_positions' test_a_late_copy_of_position_1_is_not_a_restart.)
            wait_metric(other.port, "sluice_broker_messages_total", lambda v: v >= 15,
                        "B to receive the 15 events", mode="sequenced")

            second = self.open_stream(other.port, f"/s/{ch}", {"Last-Event-ID": "5"})
            self.assert_events(second.read_events(10), 6, 15)
            self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "e16"), 16)
            self.assert_events(second.read_events(1), 16, 16)
            self.assertIsNone(second.next_event(0.3), "each event exactly once")
            # Both instances number the channel alike (A may take a moment to see e16).
            for port in (self.port, other.port):
                wait_until(lambda p=port: [(e["id"], e["data"]) for e in get_json(
                    p, f"/p/{ch}?position=13")[2]["events"]] == [(14, "e14"), (15, "e15"),
                                                                 (16, "e16")],
                           what=f"instance on port {port} to poll 14..16")

    def test_instance_started_later_serves_redis_history(self):
        ch = self.channel_id()
        self.redis.fcall_many(f"c:{ch}", [f"e{i}" for i in range(1, 6)])
        with another_gateway(self.config(), self.redis) as late:
            self.assert_events(self.open_stream(late.port, f"/s/{ch}").read_events(5), 1, 5)
            resumed = self.open_stream(late.port, f"/s/{ch}?position=2")
            self.assert_events(resumed.read_events(3), 3, 5)
            self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "e6"), 6)
            self.assert_events(resumed.read_events(1), 6, 6)
            self.assertIsNone(resumed.next_event(0.3))

    def test_bad_payload_in_redis_history_becomes_a_gap(self):
        # An instance that loads the channel from Redis history applies the same payload
        # rules as to live messages: the bad event is left out and reported as a gap.
        ch = self.channel_id()
        self.redis.fcall_many(f"c:{ch}", ["e1", b"bad \xc3", "e3"])
        with another_gateway(self.config(), self.redis) as late:
            first, gap, third = self.open_stream(late.port, f"/s/{ch}").read_events(3)
            self.assertEqual((first["id"], first["data"]), ("1", "e1"))
            self.assertEqual(gap["event"], "gap")
            self.assertEqual(json.loads(gap["data"]), {"from": 2, "to": 2})
            self.assertEqual((third["id"], third["data"]), ("3", "e3"))


class RedisTrimmedHistoryTest(SequencedCase):
    HISTORY = "{size: 10, ttl: 1h}"  # Redis keeps the newest 10 events per channel

    def test_what_redis_no_longer_holds_is_a_gap(self):
        ch = self.channel_id()
        self.fcall_seeded(f"r:{ch}", 30)  # local ring: 26..30; Redis: 21..30
        self.assertEqual([p for p, _ in self.redis.entries(f"r:{ch}")], list(range(21, 31)))
        client = self.open_stream(self.port, f"/r/{ch}?position=2")
        gap = client.read_events(1)[0]
        self.assertEqual(gap["event"], "gap")
        self.assertIsNone(gap["id"], "a gap event carries no id")
        self.assertEqual(json.loads(gap["data"]), {"from": 3, "to": 20})
        self.assert_events(client.read_events(10), 21, 30)
        self.assertIsNone(client.next_event(0.3))


if __name__ == "__main__":
    unittest.main()
