"""Polling: events after N with the data EventSource would see, event names, position
echo, gaps, done on terminal, long-poll woken by a publish, wait expiry, max_wait and
max_events, bad parameters (400)."""

import threading
import time
import unittest

from harness import GatewayTestCase, get_json, make_config, publish_position

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /small/{id}
  sse:
    channel: small:{id}
    history: {size: 3}
- path: /p/{id}
  poll:
    channel: c:{id}
    max_wait: 2s
- path: /ps/{id}
  poll:
    channel: small:{id}
- path: /few/{id}
  poll:
    channel: c:{id}
    max_events: 2
"""


class PollTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def poll(self, path, timeout=10.0):
        status, headers, doc = get_json(self.port, path, timeout=timeout)
        self.assertEqual(status, 200, doc)
        self.assertIn("application/json", headers.get("content-type", ""))
        return doc

    def seed(self, payloads, prefix="c", events=None):
        ch = self.channel_id()
        for i, payload in enumerate(payloads):
            publish_position(self.port, f"{prefix}:{ch}", payload,
                             event=events[i] if events else None)
        return ch

    def test_events_after_position(self):
        ch = self.seed(["a", "b", "c"])
        doc = self.poll(f"/p/{ch}?position=1")
        self.assertEqual(doc["events"], [{"id": 2, "event": None, "data": "b"},
                                         {"id": 3, "event": None, "data": "c"}])
        self.assertEqual(doc["position"], 3)
        self.assertIs(doc["done"], False)
        self.assertNotIn("gap", doc)

    def test_no_position_starts_at_oldest(self):
        ch = self.seed(["a", "b"])
        doc = self.poll(f"/p/{ch}")
        self.assertEqual([e["id"] for e in doc["events"]], [1, 2])
        self.assertEqual(doc["position"], 2)

    def test_data_is_what_eventsource_sees(self):
        payloads = ["a\r\nb\rc\nd", " lead", "end\n", '{"type":"chunk","t":"x"}']
        ch = self.seed(payloads)
        doc = self.poll(f"/p/{ch}?position=0")
        self.assertEqual([e["data"] for e in doc["events"]],
                         ["a\nb\nc\nd", " lead", "end\n", '{"type":"chunk","t":"x"}'])

    def test_event_name_null_or_string(self):
        ch = self.seed(["x", "y"], events=["progress", None])
        events = self.poll(f"/p/{ch}?position=0")["events"]
        self.assertEqual(events[0]["event"], "progress")
        self.assertIsNone(events[1]["event"])

    def test_position_echoed_when_nothing_new(self):
        ch = self.seed(["a", "b", "c"])
        doc = self.poll(f"/p/{ch}?position=3")
        self.assertEqual((doc["events"], doc["position"], doc["done"]), ([], 3, False))

    def test_gap_when_history_passed(self):
        ch = self.seed([f"p{i}" for i in range(1, 11)], prefix="small")
        doc = self.poll(f"/ps/{ch}?position=2")
        self.assertEqual(doc["gap"], {"from": 3, "to": 7})
        self.assertEqual([e["id"] for e in doc["events"]], [8, 9, 10])
        self.assertEqual(doc["position"], 10)

    def test_reset_gap_ahead_of_head(self):
        # The channel's positions started over below 10: the client's count is void and
        # it gets the new history from its oldest event, and polls on from there.
        ch = self.seed(["a", "b", "c"])
        doc = self.poll(f"/p/{ch}?position=10")
        self.assertEqual(doc["gap"], {"from": 1, "to": 10, "reset": True})
        self.assertEqual([e["id"] for e in doc["events"]], [1, 2, 3])
        self.assertEqual([e["data"] for e in doc["events"]], ["a", "b", "c"])
        self.assertEqual(doc["position"], 3)

    def test_reset_gap_on_empty_channel_restarts_the_count(self):
        doc = self.poll(f"/p/{self.channel_id()}?position=4")
        self.assertEqual(doc["gap"], {"from": 1, "to": 4, "reset": True})
        self.assertEqual((doc["events"], doc["position"]), ([], 0))

    def test_done_with_terminal_event(self):
        ch = self.seed(['{"type":"chunk"}', '{"type":"done"}'])
        doc = self.poll(f"/p/{ch}?position=0")
        self.assertEqual([e["id"] for e in doc["events"]], [1, 2])
        self.assertIs(doc["done"], True)
        doc = self.poll(f"/p/{ch}?position=1")
        self.assertEqual(([e["id"] for e in doc["events"]], doc["done"]), ([2], True))

    def test_done_when_channel_ended_before_position(self):
        ch = self.seed(['{"type":"error","message":"x"}'])
        doc = self.poll(f"/p/{ch}?position=1&wait=5", timeout=10)
        self.assertEqual((doc["events"], doc["position"], doc["done"]), ([], 1, True))

    def test_long_poll_woken_by_publish(self):
        ch = self.seed(["a"])
        result = {}

        def waiter():
            started = time.monotonic()
            result["doc"] = self.poll(f"/few/{ch}?position=1&wait=10", timeout=20)
            result["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        time.sleep(0.3)  # let the request be held
        publish_position(self.port, f"c:{ch}", "woken")
        thread.join(20)
        self.assertFalse(thread.is_alive(), "long poll never answered")
        doc = result["doc"]
        self.assertEqual(doc["events"], [{"id": 2, "event": None, "data": "woken"}])
        self.assertEqual(doc["position"], 2)
        self.assertLess(result["elapsed"], 10.0, "answered by the wait expiring, not the event")

    def test_wait_expiry_returns_empty(self):
        ch = self.seed(["a"])
        started = time.monotonic()
        doc = self.poll(f"/p/{ch}?position=1&wait=1", timeout=10)
        self.assertGreaterEqual(time.monotonic() - started, 0.5, "answered without waiting")
        self.assertEqual((doc["events"], doc["position"], doc["done"]), ([], 1, False))

    def test_wait_clamped_to_max_wait(self):
        ch = self.seed(["a"])
        doc = self.poll(f"/p/{ch}?position=1&wait=3600", timeout=10)  # max_wait: 2s
        self.assertEqual((doc["events"], doc["position"]), ([], 1))

    def test_max_events_per_response(self):
        ch = self.seed(["a", "b", "c", "d", "e"])
        doc = self.poll(f"/few/{ch}?position=0")
        self.assertEqual(([e["id"] for e in doc["events"]], doc["position"]), ([1, 2], 2))
        doc = self.poll(f"/few/{ch}?position=2")
        self.assertEqual([e["id"] for e in doc["events"]], [3, 4])

    def test_bad_parameters_400(self):
        ch = self.seed(["a"])
        for query in ("position=abc", "position=-1", "position=1.5", "position=1&wait=abc",
                      "position=1&wait=-3"):
            with self.subTest(query=query):
                status, _, doc = get_json(self.port, f"/p/{ch}?{query}")
                self.assertEqual(status, 400)
                self.assertEqual(doc["status"], 400)

    def test_poll_and_sse_agree(self):
        ch = self.seed(["one", "two\r\nlines", " three"], events=[None, "named", None])
        polled = self.poll(f"/p/{ch}?position=0")["events"]
        streamed = self.sse(f"/s/{ch}").read_events(3)
        self.assertEqual([(e["id"], e["event"], e["data"]) for e in polled],
                         [(int(e["id"]), e["event"], e["data"]) for e in streamed])

if __name__ == "__main__":
    unittest.main()
