"""The cors and headers plugins through the real binary: preflights answered 204 before
the sse handler (which answers OPTIONS 405), CORS headers on an SSE stream's response,
no CORS headers for an origin not allowed, request headers edited before a proxy's
upstream sees them, response headers edited, and a reload that keeps open streams on
the chain they started with."""

import json
import signal
import unittest

from harness import (Gateway, GatewayTestCase, SseClient, http_request, make_config, publish,
                     wait_until)
from upstreams import UpstreamServer

APP = "https://app.example"


def routes(upstream):
    return f"""
- path: /events/{{id}}
  sse: {{channel: "events:{{id}}"}}
  plugins:
    - cors: {{origins: ["{APP}"], credentials: true, max_age: 10m}}
- path: /plain/{{id}}
  sse: {{channel: "plain:{{id}}"}}
- prefix: /api/
  proxy: {{upstream: app}}
  plugins:
    - headers:
        request: {{set: {{X-Gateway: sluice}}, remove: [X-Debug]}}
        response: {{remove: [X-Upstream], add: {{X-Served-By: sluice}}}}
""", f"upstreams:\n  app:\n    servers: [{upstream}]\n"


class CorsHeadersTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = UpstreamServer("a").start()
        r, extra = routes(cls.app.address)
        cls.CONFIG = make_config(routes=r, extra=extra)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.app.stop()

    def preflight(self, path, origin, method="GET"):
        return http_request(self.port, "OPTIONS", path, {
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "last-event-id"})

    def test_preflight_from_allowed_origin_is_answered_204(self):
        status, headers, body = self.preflight("/events/1", APP)
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        self.assertEqual(headers["access-control-allow-origin"], APP)
        self.assertEqual(headers["access-control-allow-credentials"], "true")
        self.assertEqual(headers["access-control-allow-methods"], "GET, HEAD")
        self.assertEqual(headers["access-control-allow-headers"], "Authorization, Last-Event-ID")
        self.assertEqual(headers["access-control-max-age"], "600")
        self.assertEqual(headers["vary"], "Origin")

    def test_preflight_from_other_origin_gets_the_route_answer_without_cors(self):
        status, headers, _ = self.preflight("/events/1", "https://evil.example")
        self.assertEqual(status, 405)  # the sse route's own answer to OPTIONS
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertNotIn("access-control-allow-methods", headers)

    def test_route_without_cors_answers_options_405(self):
        status, headers, _ = self.preflight("/plain/1", APP)
        self.assertEqual(status, 405)
        self.assertNotIn("access-control-allow-origin", headers)

    def test_sse_stream_response_carries_cors_headers(self):
        ch = self.channel_id()
        client = self.sse(f"/events/{ch}", {"Origin": APP})
        self.assertEqual(client.status, 200)
        self.assertEqual(client.headers["access-control-allow-origin"], APP)
        self.assertEqual(client.headers["access-control-allow-credentials"], "true")
        self.assertIn("text/event-stream", client.headers["content-type"])
        wait_until(lambda: publish(self.port, f"events:{ch}", '{"n":1}')[0] == 200 and
                   client.next_event(timeout=0.5), what="event on the stream")

    def test_sse_stream_from_other_origin_has_no_cors_headers(self):
        client = self.sse(f"/events/{self.channel_id()}", {"Origin": "https://evil.example"})
        self.assertEqual(client.status, 200)
        self.assertNotIn("access-control-allow-origin", client.headers)

    def test_request_headers_are_edited_before_the_upstream(self):
        status, headers, body = http_request(self.port, "GET", "/api/echo",
                                             {"X-Debug": "1", "X-Gateway": "spoofed"})
        self.assertEqual(status, 200)
        seen = {}
        for name, value in json.loads(body)["headers"]:
            seen.setdefault(name.lower(), []).append(value)
        self.assertEqual(seen["x-gateway"], ["sluice"])
        self.assertNotIn("x-debug", seen)

    def test_response_headers_are_edited(self):
        status, headers, _ = http_request(self.port, "GET", "/api/echo")
        self.assertEqual(status, 200)
        self.assertNotIn("x-upstream", headers)  # the upstream sends it; the plugin removes it
        self.assertEqual(headers["x-served-by"], "sluice")


class ReloadKeepsChainTest(unittest.TestCase):
    def test_reload_builds_new_chains_and_open_streams_go_on(self):
        old = """
- path: /events/{id}
  sse: {channel: "events:{id}"}
  plugins:
    - headers: {response: {set: {X-Chain: old}}}
"""
        with Gateway(make_config(routes=old)) as gw:
            client = SseClient(gw.port, "/events/r1")
            try:
                self.assertEqual(client.headers["x-chain"], "old")
                gw.write_config(make_config(routes=old.replace("X-Chain: old", "X-Chain: new")))
                gw.send_signal(signal.SIGHUP)
                gw.wait_log(lambda l: l.get("msg") == "config reloaded", what="reload")
                fresh = SseClient(gw.port, "/events/r2")
                try:
                    self.assertEqual(fresh.headers["x-chain"], "new")
                finally:
                    fresh.close()
                # The stream opened under the old config still delivers events.
                self.assertEqual(publish(gw.port, "events:r1", '{"n":1}')[0], 200)
                self.assertIsNotNone(client.next_event(timeout=5))
            finally:
                client.close()


if __name__ == "__main__":
    unittest.main()
