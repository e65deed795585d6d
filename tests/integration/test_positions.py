"""Positions are exact (issue 8), memory broker: a channel whose events all expired
(history.ttl) keeps counting, for history.positions_ttl after its last event; a resume into
expired history gets the ordinary gap {N+1, head}; after positions_ttl the count starts
again and a client claiming an old position gets the reset gap {1, N, reset} and then the
new events, on SSE and on poll; positions above 2^53-1 (up to and past 2^64) in ?position, Last-Event-ID and poll
get a clear 400, and the largest valid one a sane reset gap, never a wrap."""

import json
import unittest

from harness import (GatewayTestCase, get_json, ids, make_config, metric_sum, metrics,
                     publish_many, publish_position, wait_until)

# Short ttls: history lasts 1s; positions 1h on t:*, 2s on x:*.
ROUTES = """
- path: /t/{id}
  sse:
    channel: t:{id}
    history: {ttl: 1s, positions_ttl: 1h}
- path: /tp/{id}
  poll:
    channel: t:{id}
- path: /x/{id}
  sse:
    channel: x:{id}
    history: {ttl: 1s, positions_ttl: 2s}
- path: /xp/{id}
  poll:
    channel: x:{id}
"""

MAX = 2**53 - 1  # the largest position: exact as a JavaScript number


def gap_of(event):
    assert event["event"] == "gap", event
    assert event["id"] is None, event
    return json.loads(event["data"])


class PositionsTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def poll(self, path):
        status, _, doc = get_json(self.port, path)
        self.assertEqual(status, 200, doc)
        return doc

    def wait_history_gone(self, poll_path):
        """Waits until history holds nothing (every event passed its ttl)."""
        wait_until(lambda: self.poll(f"{poll_path}?position=0")["events"] == [], timeout=10,
                   what=f"history of {poll_path} to expire")

    def wait_loop_dropped_channels(self):
        """Waits until the loop let every channel go (idle, no events, no clients): the
        situation in which the head used to be forgotten."""
        wait_until(lambda: metric_sum(metrics(self.port), "sluice_channels") == 0, timeout=10,
                   what="the worker loop to drop its idle channels")

    def test_count_continues_after_history_expired(self):
        ch = self.channel_id()
        self.assertEqual(publish_many(self.port, f"t:{ch}", ["e1", "e2", "e3"]), [1, 2, 3])
        self.wait_history_gone(f"/tp/{ch}")
        self.wait_loop_dropped_channels()
        # A resume into the expired history: the ordinary gap {N+1, head}.
        client = self.sse(f"/t/{ch}?position=1")
        self.assertEqual(gap_of(client.read_events(1)[0]), {"from": 2, "to": 3})
        doc = self.poll(f"/tp/{ch}?position=1")
        self.assertEqual((doc["gap"], doc["events"], doc["position"]),
                         ({"from": 2, "to": 3}, [], 3))
        # The next event continues the count: 4, not 1 again.
        self.assertEqual(publish_position(self.port, f"t:{ch}", "e4"), 4)
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["data"]), ("4", "e4"))
        self.assertIsNone(client.next_event(0.3))

    def test_positions_restart_after_positions_ttl_with_a_reset_gap(self):
        ch = self.channel_id()
        self.assertEqual(publish_many(self.port, f"x:{ch}", ["old1", "old2", "old3"]), [1, 2, 3])
        self.wait_history_gone(f"/xp/{ch}")
        self.wait_loop_dropped_channels()
        # positions_ttl (2s) after the last event the head is forgotten: the count starts
        # again. Published until that happens (each publish before it refreshes the head,
        # so this waits for a 2s pause between two of them at most once).
        position = wait_until(lambda: publish_position(self.port, f"x:{ch}", "new1") == 1
                              or None, timeout=10, interval=2.5,
                              what="the head to expire after positions_ttl")
        self.assertTrue(position)
        self.assertEqual(publish_position(self.port, f"x:{ch}", "new2"), 2)
        # A client that had 3 of the old count: reset gap {1, 3}, then the new 1..2, live.
        client = self.sse(f"/x/{ch}", {"Last-Event-ID": "3"})
        gap, first, second = client.read_events(3)
        self.assertEqual(gap_of(gap), {"from": 1, "to": 3, "reset": True})
        self.assertEqual([(e["id"], e["data"]) for e in (first, second)],
                         [("1", "new1"), ("2", "new2")])
        # Poll: the same numbers, the new events, and position to continue from.
        doc = self.poll(f"/xp/{ch}?position=3")
        self.assertEqual(doc["gap"], {"from": 1, "to": 3, "reset": True})
        self.assertEqual([(e["id"], e["data"]) for e in doc["events"]],
                         [(1, "new1"), (2, "new2")])
        self.assertEqual(doc["position"], 2)
        self.assertEqual(publish_position(self.port, f"x:{ch}", "new3"), 3)
        self.assertEqual(ids(client.read_events(1)), [3])

    def test_live_client_sees_the_reset_then_the_new_events(self):
        ch = self.channel_id()
        client = self.sse(f"/x/{ch}")
        self.assertEqual(publish_many(self.port, f"x:{ch}", ["old1", "old2"]), [1, 2])
        self.assertEqual(ids(client.read_events(2)), [1, 2])
        # The client stays connected; the head expires 2s after the last event.
        wait_until(lambda: publish_position(self.port, f"x:{ch}", "new1") == 1 or None,
                   timeout=10, interval=2.5, what="the head to expire after positions_ttl")
        events = client.read_events(2)
        # Old events published while waiting (if any) came first; then the reset.
        while events[0]["event"] != "gap":
            events = events[1:] + client.read_events(1)
        self.assertEqual(gap_of(events[0])["reset"], True)
        self.assertEqual(gap_of(events[0])["from"], 1)
        self.assertEqual((events[1]["id"], events[1]["data"]), ("1", "new1"))

    def test_positions_near_2_64_are_refused_with_400(self):
        ch = self.channel_id()
        publish_position(self.port, f"t:{ch}", "e1")
        for value in (str(MAX + 1), str(2**63 - 1), str(2**64 - 1), str(2**64), "9" * 30):
            with self.subTest(value=value):
                client = self.sse(f"/t/{ch}?position={value}")
                self.assertEqual(client.status, 400)
                self.assertIn("position must be at most 9007199254740991",
                              json.loads(client.body)["error"])
                client = self.sse(f"/t/{ch}", {"Last-Event-ID": value})
                self.assertEqual(client.status, 400)
                self.assertIn("Last-Event-ID must be at most", json.loads(client.body)["error"])
                status, _, doc = get_json(self.port, f"/tp/{ch}?position={value}")
                self.assertEqual(status, 400)
                self.assertIn("position must be at most", doc["error"])

    def test_largest_position_gets_a_reset_gap_not_a_wrap(self):
        ch = self.channel_id()
        publish_many(self.port, f"t:{ch}", ["e1", "e2"])
        client = self.sse(f"/t/{ch}?position={MAX}")
        gap, *events = client.read_events(3)
        self.assertEqual(gap_of(gap), {"from": 1, "to": MAX, "reset": True})
        self.assertEqual(ids(events), [1, 2])
        doc = self.poll(f"/tp/{ch}?position={MAX}")
        self.assertEqual(doc["gap"], {"from": 1, "to": MAX, "reset": True})
        self.assertEqual(([e["id"] for e in doc["events"]], doc["position"]), ([1, 2], 2))


if __name__ == "__main__":
    unittest.main()
