"""SSE resumption: ?position=N, Last-Event-ID, position winning over the header, bad
values (400), start: latest, and gap events (history window passed; client ahead of
the channel head)."""

import json
import unittest

from harness import GatewayTestCase, ids, make_config, publish_many, publish_position

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /small/{id}
  sse:
    channel: small:{id}
    history: {size: 3}
- path: /latest/{id}
  sse:
    channel: latest:{id}
    start: latest
"""


class SseResumeTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def seed(self, prefix, n):
        """Publishes n events p1..pn on prefix:<test name>; returns the path id."""
        ch = self.channel_id()
        publish_many(self.port, f"{prefix}:{ch}", [f"p{i}" for i in range(1, n + 1)])
        return ch

    def assert_gap(self, event, first, last, reset=False):
        self.assertEqual(event["event"], "gap")
        self.assertIsNone(event["id"], "a gap event must not carry an id")
        want = {"from": first, "to": last}
        if reset:
            want["reset"] = True
        self.assertEqual(json.loads(event["data"]), want)

    def test_position_query_resumes_after_n(self):
        ch = self.seed("c", 5)
        client = self.sse(f"/s/{ch}?position=2")
        events = client.read_events(3)
        self.assertEqual(ids(events), [3, 4, 5])
        self.assertEqual([e["data"] for e in events], ["p3", "p4", "p5"])
        publish_position(self.port, f"c:{ch}", "p6")
        self.assertEqual(ids(client.read_events(1)), [6])

    def test_position_zero_is_everything(self):
        ch = self.seed("c", 2)
        self.assertEqual(ids(self.sse(f"/s/{ch}?position=0").read_events(2)), [1, 2])

    def test_position_at_head_waits_for_live(self):
        ch = self.seed("c", 3)
        client = self.sse(f"/s/{ch}?position=3")
        self.assertIsNone(client.next_event(0.3), "nothing should be replayed at the head")
        publish_position(self.port, f"c:{ch}", "p4")
        self.assertEqual(ids(client.read_events(1)), [4])

    def test_last_event_id_resumes(self):
        ch = self.seed("c", 5)
        client = self.sse(f"/s/{ch}", {"Last-Event-ID": "3"})
        self.assertEqual(ids(client.read_events(2)), [4, 5])
        self.assertIsNone(client.next_event(0.3))

    def test_larger_of_position_and_last_event_id_counts(self):
        # Both say "I have everything up to N". An EventSource opened with ?position=N
        # keeps that URL when it reconnects and reports real progress in Last-Event-ID.
        ch = self.seed("c", 5)
        client = self.sse(f"/s/{ch}?position=4", {"Last-Event-ID": "1"})
        self.assertEqual(ids(client.read_events(1)), [5])
        self.assertIsNone(client.next_event(0.3))
        client = self.sse(f"/s/{ch}?position=1", {"Last-Event-ID": "3"})
        self.assertEqual(ids(client.read_events(2)), [4, 5])
        self.assertIsNone(client.next_event(0.3))

    def test_bad_position_400(self):
        ch = self.seed("c", 1)
        for query in ("abc", "-1", "1.5", "1x", "0x10"):
            with self.subTest(position=query):
                client = self.sse(f"/s/{ch}?position={query}")
                self.assertEqual(client.status, 400)
                self.assertEqual(json.loads(client.body)["status"], 400)

    def test_bad_last_event_id_400(self):
        ch = self.seed("c", 1)
        for value in ("abc", "-2", "3.0"):
            with self.subTest(last_event_id=value):
                self.assertEqual(self.sse(f"/s/{ch}", {"Last-Event-ID": value}).status, 400)

    def test_start_latest_is_live_only(self):
        ch = self.seed("latest", 2)
        client = self.sse(f"/latest/{ch}")
        client.next_event(5, all_blocks=True)  # retry
        self.assertIsNone(client.next_event(0.3), "start: latest must not replay history")
        publish_position(self.port, f"latest:{ch}", "p3")
        event = client.read_events(1)[0]
        self.assertEqual((event["id"], event["data"]), ("3", "p3"))

    def test_start_latest_still_resumes_by_position(self):
        ch = self.seed("latest", 3)
        self.assertEqual(ids(self.sse(f"/latest/{ch}?position=1").read_events(2)), [2, 3])

    def test_no_position_starts_at_oldest_held(self):
        ch = self.seed("small", 10)
        client = self.sse(f"/small/{ch}")
        events = client.read_events(3)
        self.assertEqual(ids(events), [8, 9, 10], "no gap event without a resume position")

    def test_gap_older_than_history_window(self):
        ch = self.seed("small", 10)
        client = self.sse(f"/small/{ch}?position=2")
        events = client.read_events(4)
        self.assert_gap(events[0], 3, 7)
        self.assertEqual(ids(events[1:]), [8, 9, 10])
        self.assertEqual([e["data"] for e in events[1:]], ["p8", "p9", "p10"])

    def test_gap_with_last_event_id(self):
        ch = self.seed("small", 10)
        events = self.sse(f"/small/{ch}", {"Last-Event-ID": "5"}).read_events(4)
        self.assert_gap(events[0], 6, 7)
        self.assertEqual(ids(events[1:]), [8, 9, 10])

    def test_no_gap_when_window_holds_next(self):
        ch = self.seed("small", 10)
        events = self.sse(f"/small/{ch}?position=7").read_events(3)
        self.assertEqual(ids(events), [8, 9, 10])

    def test_reset_gap_ahead_of_head(self):
        # Claiming 10 of a channel whose head is 3: its positions started over, so the
        # client's count is void (reset gap 1..10) and it gets the new 1..3, then live.
        ch = self.seed("c", 3)
        client = self.sse(f"/s/{ch}?position=10")
        gap, *events = client.read_events(4)
        self.assert_gap(gap, 1, 10, reset=True)
        self.assertEqual(ids(events), [1, 2, 3])
        self.assertEqual([e["data"] for e in events], ["p1", "p2", "p3"])
        self.assertIsNone(client.next_event(0.3))
        publish_many(self.port, f"c:{ch}", ["p4", "p5"])
        events = client.read_events(2)
        self.assertEqual(ids(events), [4, 5])
        self.assertEqual(events[0]["data"], "p4")

    def test_reset_gap_ahead_of_empty_channel(self):
        client = self.sse(f"/s/{self.channel_id()}?position=5")
        self.assert_gap(client.read_events(1)[0], 1, 5, reset=True)
        publish_position(self.port, f"c:{self.channel_id()}", "first")
        self.assertEqual(ids(client.read_events(1)), [1])


if __name__ == "__main__":
    unittest.main()
