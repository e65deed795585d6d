"""SSE streams: response headers and the initial retry line, event framing, replay of
events published before connecting, live delivery, terminal events (close, 204 on
reconnect, terminal: [] disables), and heartbeats in comment and data mode."""

import json
import unittest

from harness import (GatewayTestCase, http_request, ids, make_config, publish_many,
                     publish_position)

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
    retry: 1500ms
- path: /default/{id}
  sse:
    channel: d:{id}
- path: /noterm/{id}
  sse:
    channel: nt:{id}
    terminal: []
- path: /custom/{id}
  sse:
    channel: ct:{id}
    terminal: [finished]
- path: /hb/{id}
  sse:
    channel: hb:{id}
    heartbeat: 300ms
- path: /hbdata/{id}
  sse:
    channel: hbd:{id}
    heartbeat: {interval: 300ms, mode: data}
"""


class SseTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def test_response_headers_and_initial_retry(self):
        client = self.sse(f"/s/{self.channel_id()}")
        self.assertEqual(client.status, 200)
        self.assertTrue(client.headers.get("content-type", "").startswith("text/event-stream"))
        self.assertEqual(client.headers.get("cache-control"), "no-cache")
        self.assertEqual(client.headers.get("x-accel-buffering"), "no")
        self.assertNotIn("content-length", client.headers)
        self.assertNotIn("chunked", client.headers.get("transfer-encoding", ""))
        block = client.next_event(5, all_blocks=True)
        self.assertEqual(block["retry"], 1500)
        self.assertTrue(bytes(client.raw).startswith(b"retry: 1500\n\n"), client.raw[:40])

    def test_default_retry_is_2000(self):
        client = self.sse(f"/default/{self.channel_id()}")
        self.assertEqual(client.next_event(5, all_blocks=True)["retry"], 2000)

    def test_head_request(self):
        status, headers, body = http_request(self.port, "HEAD", f"/s/{self.channel_id()}")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/event-stream"))
        self.assertEqual(body, b"")

    def test_framing_of_multiline_payloads(self):
        ch = self.channel_id()
        cases = [  # payload, data EventSource sees, data: lines on the wire
            ("one", "one", ["data: one"]),
            ("l1\nl2\nl3", "l1\nl2\nl3", ["data: l1", "data: l2", "data: l3"]),
            ("a\r\nb", "a\nb", ["data: a", "data: b"]),
            ("x\ry", "x\ny", ["data: x", "data: y"]),
            (" lead", " lead", ["data:  lead"]),
            ("  two\n three", "  two\n three", ["data:   two", "data:  three"]),
            ("end\n", "end\n", ["data: end", "data: "]),
            ("a\n\nb", "a\n\nb", ["data: a", "data: ", "data: b"]),
            ("tab\tand: colon", "tab\tand: colon", ["data: tab\tand: colon"]),
        ]
        positions = publish_many(self.port, f"c:{ch}", [c[0] for c in cases])
        client = self.sse(f"/s/{ch}")
        events = client.read_events(len(cases))
        for (payload, data, lines), pos, event in zip(cases, positions, events):
            with self.subTest(payload=payload):
                self.assertEqual(event["data"], data)
                self.assertEqual(event["lines"], [f"id: {pos}"] + lines)
        self.assertNotIn(b"\r", bytes(client.raw), "sluice must write LF line ends only")

    def test_events_published_before_connect_are_replayed(self):
        ch = self.channel_id()
        payloads = [json.dumps({"type": "chunk", "i": i}) for i in range(5)]
        publish_many(self.port, f"c:{ch}", payloads)
        events = self.sse(f"/s/{ch}").read_events(5)
        self.assertEqual(ids(events), [1, 2, 3, 4, 5])
        self.assertEqual([e["data"] for e in events], payloads)

    def test_live_delivery(self):
        ch = self.channel_id()
        client = self.sse(f"/s/{ch}")
        client.next_event(5, all_blocks=True)  # retry: the stream is set up
        for i in range(1, 4):
            self.assertEqual(publish_position(self.port, f"c:{ch}", f"live {i}"), i)
            event = client.next_event(5)
            self.assertEqual((event["id"], event["data"]), (str(i), f"live {i}"))

    def test_replay_then_live_without_duplicates(self):
        ch = self.channel_id()
        publish_many(self.port, f"c:{ch}", ["r1", "r2"])
        client = self.sse(f"/s/{ch}")
        publish_many(self.port, f"c:{ch}", ["l3", "l4"])
        events = client.read_events(4)
        self.assertEqual(ids(events), [1, 2, 3, 4])
        self.assertIsNone(client.next_event(0.3), "unexpected extra event")

    def test_terminal_event_ends_stream(self):
        ch = self.channel_id()
        client = self.sse(f"/s/{ch}")
        publish_many(self.port, f"c:{ch}", ['{"type":"chunk"}', '{"type":"done"}'])
        events = client.read_events(2)
        self.assertEqual(json.loads(events[1]["data"]), {"type": "done"})
        self.assertTrue(client.wait_closed(5), "stream not closed after the terminal event")

    def test_error_type_is_terminal_by_default(self):
        ch = self.channel_id()
        publish_many(self.port, f"c:{ch}", ['{"type":"error","message":"boom"}'])
        client = self.sse(f"/s/{ch}")
        self.assertEqual(ids(client.read_events(1)), [1])
        self.assertTrue(client.wait_closed(5))

    def test_non_terminal_json_keeps_stream(self):
        ch = self.channel_id()
        client = self.sse(f"/s/{ch}")
        publish_many(self.port, f"c:{ch}", ['{"type":"chunk"}', '"done"', '{"kind":"done"}',
                                            '{"data":{"type":"done"}}', 'not json done'])
        client.read_events(5)
        self.assertFalse(client.wait_closed(0.5), "a non-terminal payload closed the stream")

    def test_reconnect_at_or_after_terminal_is_204(self):
        ch = self.channel_id()
        publish_many(self.port, f"c:{ch}", ['{"type":"chunk"}', '{"type":"done"}'])
        for query, headers in (("?position=2", None), ("?position=7", None),
                               ("", {"Last-Event-ID": "2"})):
            with self.subTest(query=query, headers=headers):
                client = self.sse(f"/s/{ch}{query}", headers)
                self.assertEqual(client.status, 204)
                self.assertEqual(client.body, b"")
        client = self.sse(f"/s/{ch}?position=1")  # before the terminal: replay it, close
        self.assertEqual(client.status, 200)
        self.assertEqual(ids(client.read_events(1)), [2])
        self.assertTrue(client.wait_closed(5))

    def test_custom_terminal_list(self):
        ch = self.channel_id()
        client = self.sse(f"/custom/{ch}")
        publish_many(self.port, f"ct:{ch}", ['{"type":"done"}', '{"type":"finished"}'])
        self.assertEqual(ids(client.read_events(2)), [1, 2])
        self.assertTrue(client.wait_closed(5), "custom terminal type did not end the stream")

    def test_terminal_empty_list_disables(self):
        ch = self.channel_id()
        publish_many(self.port, f"nt:{ch}", ['{"type":"done"}'])
        client = self.sse(f"/noterm/{ch}")
        self.assertEqual(ids(client.read_events(1)), [1])
        self.assertFalse(client.wait_closed(0.5), "terminal: [] must not close the stream")
        publish_position(self.port, f"nt:{ch}", '{"type":"error"}')
        self.assertEqual(ids(client.read_events(1)), [2])
        resumed = self.sse(f"/noterm/{ch}?position=2")
        self.assertEqual(resumed.status, 200)

    def test_heartbeat_comment_mode(self):
        client = self.sse(f"/hb/{self.channel_id()}")
        beats = []
        while len(beats) < 2:
            block = client.next_event(5, all_blocks=True)
            self.assertIsNotNone(block, "no heartbeat within 5s (interval 300ms)")
            if block["comments"]:
                self.assertEqual(block["comments"], ["heartbeat"])
                self.assertEqual(block["lines"], [": heartbeat"])
                beats.append(block)
        self.assertIn(b": heartbeat\n\n", bytes(client.raw))

    def test_heartbeat_data_mode(self):
        ch = self.channel_id()
        client = self.sse(f"/hbdata/{ch}")
        event = client.next_event(5)
        self.assertIsNotNone(event, "no data heartbeat within 5s (interval 300ms)")
        self.assertEqual(json.loads(event["data"]), {"type": "heartbeat"})
        self.assertIsNone(event["id"], "data heartbeats must not carry an id")
        self.assertIn(b'data: {"type":"heartbeat"}\n\n', bytes(client.raw))
        publish_position(self.port, f"hbd:{ch}", "real")
        real = client.read_until(lambda e: e["data"] == "real", 5)[-1]
        self.assertEqual(real["id"], "1")


if __name__ == "__main__":
    unittest.main()
