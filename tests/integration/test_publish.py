"""The HTTP publish endpoint: bearer-token auth (401/403), payload size (413), channel
validation (400), method (405), positions per channel, and the Event header."""

import json
import unittest

from harness import (TOKEN, Conn, GatewayTestCase, http_request, make_config, publish,
                     publish_many, publish_position)

MAX_EVENT = 1024


class PublishTest(GatewayTestCase):
    CONFIG = make_config(limits={"max_event_size": MAX_EVENT})

    def assert_status(self, response, status):
        got, headers, body = response
        self.assertEqual(got, status, body)
        self.assertEqual(json.loads(body)["status"], status)
        return headers

    def test_success_returns_position(self):
        status, headers, body = publish(self.port, "c:pub-ok", '{"type":"chunk"}')
        self.assertEqual(status, 200, body)
        self.assertIn("application/json", headers.get("content-type", ""))
        self.assertEqual(json.loads(body), {"position": 1})

    def test_positions_increase_per_channel(self):
        a = publish_many(self.port, "c:pos-a", [f"a{i}" for i in range(5)])
        b = publish_many(self.port, "c:pos-b", ["b0", "b1"])
        a += publish_many(self.port, "c:pos-a", ["a5"])
        self.assertEqual(a, [1, 2, 3, 4, 5, 6])
        self.assertEqual(b, [1, 2])

    def test_missing_token_401(self):
        headers = self.assert_status(publish(self.port, "c:auth", "x", token=None), 401)
        self.assertIn("bearer", headers.get("www-authenticate", "").lower())

    def test_other_auth_scheme_401(self):
        response = publish(self.port, "c:auth", "x", token=None,
                           headers={"Authorization": "Basic dXNlcjpwYXNz"})
        headers = self.assert_status(response, 401)
        self.assertIn("bearer", headers.get("www-authenticate", "").lower())

    def test_wrong_token_403(self):
        self.assert_status(publish(self.port, "c:auth", "x", token="not-the-token"), 403)

    def test_rejected_publish_not_stored(self):
        publish(self.port, "c:auth-store", "x", token="wrong")
        self.assertEqual(publish_position(self.port, "c:auth-store", "y"), 1)

    def test_payload_over_max_event_size_413(self):
        self.assert_status(publish(self.port, "c:size", "x" * (MAX_EVENT + 1)), 413)
        self.assertEqual(publish_position(self.port, "c:size", "y" * MAX_EVENT), 1)

    def test_payload_not_utf8_or_with_nul_400(self):
        # SSE is UTF-8 text: the same payload rules as for events arriving from Redis.
        for payload in (b"\xff\xfe", b"ok\xc3", b"a\x00b"):
            with self.subTest(payload=payload):
                self.assert_status(publish(self.port, "c:bytes", payload), 400)
        self.assertEqual(publish_position(self.port, "c:bytes", "h\u00e9llo"), 1)

    def test_reserved_event_name_gap_400(self):
        self.assert_status(publish(self.port, "c:evname", "x", event="gap"), 400)

    def test_invalid_channel_400(self):
        for channel in ("a%2Ab", "a%20b", "a%3Fb", "x" * 129):
            with self.subTest(channel=channel[:20]):
                self.assert_status(publish(self.port, channel, "x"), 400)

    def test_get_on_publish_path_405(self):
        status, headers, _ = http_request(self.port, "GET", "/_sluice/publish/c:x")
        self.assertEqual(status, 405)
        self.assertIn("POST", headers.get("allow", ""))

    def test_event_header_gives_event_line(self):
        publish_position(self.port, "c:named", '{"n":1}', event="progress")
        publish_position(self.port, "c:named", '{"n":2}')
        client = self.sse("/s/named")
        first, second = client.read_events(2)
        self.assertEqual(first["event"], "progress")
        self.assertIn("event: progress", first["lines"])
        self.assertEqual(first["data"], '{"n":1}')
        self.assertIsNone(second["event"])
        self.assertFalse(any(line.startswith("event:") for line in second["lines"]))

    def test_published_payload_reaches_subscriber_unchanged(self):
        payload = '{"type":"chunk","text":"h\\u00e9llo ✓"}'
        pos = publish_position(self.port, "c:exact", payload)
        event = self.sse("/s/exact").next_event(5)
        self.assertEqual((event["id"], event["data"]), (str(pos), payload))


class PublishInputTest(GatewayTestCase):
    """Issue 9: Event names are UTF-8 like payloads, and a 413 names the limit that applied."""

    CONFIG = make_config(limits={"max_event_size": "1MiB", "max_body_size": "1MiB"})

    def error_of(self, response, status):
        got, _, body = response
        self.assertEqual(got, status, body)
        return json.loads(body)["error"]

    def test_event_name_that_is_not_utf8_is_400(self):
        for name in ("\x85", "caf\xc3", "\xff\xfe", "a\xed\xa0\x80"):  # sent as raw bytes
            with self.subTest(name=name):
                error = self.error_of(publish(self.port, "c:evutf", "x", event=name), 400)
                self.assertIn("UTF-8", error)
        # Nothing was stored; a UTF-8 name goes out as it came.
        self.assertEqual(publish_position(self.port, "c:evutf", "x",
                                          event="progr\u00e8s".encode().decode("latin-1")), 1)
        event = self.sse("/s/evutf").next_event(5)
        self.assertEqual(event["event"], "progr\u00e8s")

    def test_event_name_reasons_are_specific(self):
        self.assertIn("reserved", self.error_of(publish(self.port, "c:evr", "x", event="gap"), 400))
        self.assertIn("128", self.error_of(publish(self.port, "c:evr", "x", event="e" * 129), 400))

    def send_head(self, path, length, headers=""):
        conn = Conn(self.port)
        try:
            conn.send(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
                      f"{headers}\r\n".encode())
            return conn.read_response()
        finally:
            conn.close()

    def test_oversized_publish_names_max_event_size(self):
        auth = f"Authorization: Bearer {TOKEN}\r\n"
        for length in (1024 * 1024 + 1, 50 * 1024 * 1024):
            error = self.error_of(self.send_head("/_sluice/publish/c:big", length, auth), 413)
            self.assertIn("limits.max_event_size", error)
            self.assertNotIn("max_body_size", error)
        # Anywhere else the body limit is the one that applies.
        error = self.error_of(self.send_head("/p/x", 1024 * 1024 + 1), 413)
        self.assertIn("limits.max_body_size", error)


if __name__ == "__main__":
    unittest.main()
