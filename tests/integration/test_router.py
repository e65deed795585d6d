"""Routing: {name} captures into channels, percent-decoding and channel-value validation
(400), first match in file order, prefix routes, 405 from the first matching route."""

import json
import unittest

from harness import GatewayTestCase, http_request, make_config, publish_position

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /raw/{id}
  sse:
    channel: "{id}"
- path: /two/{a}/x/{b}
  sse:
    channel: two:{a}:{b}
- path: /order/special
  sse:
    channel: special
- path: /order/{id}
  sse:
    channel: order:{id}
- path: /rev/{id}
  sse:
    channel: rev:{id}
- path: /rev/special
  sse:
    channel: revspecial
- prefix: /pre/
  sse:
    channel: prefixed
- path: /m/{id}
  poll:
    channel: m:{id}
- prefix: /m/
  sse:
    channel: mprefix
"""


class RouterTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def first_data(self, path):
        """Status of GET path and, on 200, the data of its first event."""
        client = self.sse(path)
        if client.status != 200:
            return client.status, None
        event = client.next_event(5)
        self.assertIsNotNone(event, f"no event on {path}")
        return 200, event["data"]

    def marker(self, channel):
        """Publishes a payload that names its channel; returns it."""
        payload = f"on {channel} ({self._testMethodName})"
        publish_position(self.port, channel, payload)
        return payload

    def test_capture_becomes_channel(self):
        want = self.marker("c:abc-1")
        self.assertEqual(self.first_data("/s/abc-1"), (200, want))

    def test_two_captures(self):
        want = self.marker("two:p:q")
        self.assertEqual(self.first_data("/two/p/x/q"), (200, want))

    def test_percent_decoded_capture(self):
        want = self.marker("c:a:b.c")
        self.assertEqual(self.first_data("/s/a%3Ab%2Ec"), (200, want))

    def test_invalid_channel_value_400(self):
        for path in ("/s/%2A", "/s/a%2Ab", "/s/a%20b", "/s/a%3Fb", "/s/%E2%9C%93", "/s/a%2Fb"):
            with self.subTest(path=path):
                status, _, body = http_request(self.port, "GET", path)
                self.assertEqual(status, 400)
                self.assertEqual(json.loads(body)["status"], 400)

    def test_channel_value_length(self):
        status, _, _ = http_request(self.port, "GET", "/raw/" + "a" * 129)
        self.assertEqual(status, 400)
        want = self.marker("b" * 128)
        self.assertEqual(self.first_data("/raw/" + "b" * 128), (200, want))

    def test_poll_capture_validated(self):
        status, _, _ = http_request(self.port, "GET", "/m/%2A?position=0")
        self.assertEqual(status, 400)

    def test_first_match_wins_literal_first(self):
        want = self.marker("special")
        self.assertEqual(self.first_data("/order/special"), (200, want))
        want = self.marker("order:other")
        self.assertEqual(self.first_data("/order/other"), (200, want))

    def test_first_match_wins_capture_first(self):
        want = self.marker("rev:special")
        self.assertEqual(self.first_data("/rev/special"), (200, want))

    def test_prefix_route(self):
        want = self.marker("prefixed")
        self.assertEqual(self.first_data("/pre/any/deep/path"), (200, want))
        self.assertEqual(http_request(self.port, "GET", "/pre")[0], 404)
        self.assertEqual(http_request(self.port, "GET", "/prefix")[0], 404)

    def test_query_string_not_part_of_path(self):
        want = self.marker("c:q1")
        self.assertEqual(self.first_data("/s/q1?foo=bar"), (200, want))

    def test_extra_segment_does_not_match_capture(self):
        self.assertEqual(http_request(self.port, "GET", "/s/a/b")[0], 404)
        self.assertEqual(http_request(self.port, "GET", "/s/")[0], 404)

    def test_wrong_method_405_not_next_route(self):
        # /m/{id} (poll) matches first; the later /m/ prefix route must not be tried.
        status, headers, _ = http_request(self.port, "DELETE", "/m/x")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers.get("allow", ""))
        status, _, body = http_request(self.port, "GET", "/m/x?position=0")
        self.assertEqual(status, 200)
        self.assertIn("events", json.loads(body))


if __name__ == "__main__":
    unittest.main()
