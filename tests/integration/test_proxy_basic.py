"""Proxy routes, the basics (issue 4 items 1 and 3): requests reach the upstream and come
back, pooled keep-alive connections are reused, round-robin over servers, pipelining,
HEAD/204/304, X-Forwarded-* and X-Request-Id, hop-by-hop headers, Host pass/rewrite/fixed,
and the upstream metrics."""

import json
import signal
import time
import unittest

from harness import (Conn, Gateway, GatewayTestCase, http_request, make_config, metric_sum,
                     metrics, wait_until)
from upstreams import UpstreamServer


def proxy_config(servers, routes=None, upstream_extra=""):
    routes = routes or """
- prefix: /api/
  proxy:
    upstream: app
- prefix: /rewrite/
  proxy:
    upstream: app
    host: rewrite
- prefix: /fixed/
  proxy:
    upstream: app
    host: backend.internal:8443
"""
    extra = ("upstreams:\n  app:\n    servers: [" + ", ".join(servers) + "]\n" +
             upstream_extra)
    return make_config(routes=routes, extra=extra)


def echo(body):
    data = json.loads(body)
    data["headers_map"] = {}
    for name, value in data["headers"]:
        data["headers_map"].setdefault(name.lower(), []).append(value)
    return data


class ProxyBasicsTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = UpstreamServer("a").start()
        cls.b = UpstreamServer("b").start()
        cls.CONFIG = proxy_config([cls.a.address, cls.b.address])
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.a.stop()
            cls.b.stop()

    def request(self, method, path, headers=None, body=None):
        return http_request(self.port, method, path, headers, body)

    def test_get_is_forwarded_with_target_and_answer(self):
        status, headers, body = self.request("GET", "/api/echo/x?q=1&r=%20")
        self.assertEqual(status, 200)
        data = echo(body)
        self.assertEqual(data["method"], "GET")
        self.assertEqual(data["path"], "/api/echo/x?q=1&r=%20")  # the target as received
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIn(headers["x-upstream"], ("a", "b"))

    def test_post_body_is_forwarded(self):
        status, _, body = self.request("POST", "/api/echo", {"Content-Type": "text/plain"},
                                       "hello upstream")
        self.assertEqual(status, 200)
        data = echo(body)
        self.assertEqual(data["body"], "hello upstream")
        self.assertEqual(data["headers_map"]["content-length"], ["14"])
        self.assertEqual(data["headers_map"]["content-type"], ["text/plain"])

    def test_chunked_request_body_is_forwarded_chunked(self):
        conn = Conn(self.port)
        try:
            conn.send(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            status, _, body = conn.read_response()
        finally:
            conn.close()
        self.assertEqual(status, 200)
        data = echo(body)
        self.assertEqual(data["body"], "hello world")
        self.assertEqual(data["headers_map"]["transfer-encoding"], ["chunked"])
        self.assertNotIn("content-length", data["headers_map"])

    def test_forwarding_headers_are_set(self):
        _, _, body = self.request("GET", "/api/echo", {"Host": "public.example:8080",
                                                      "X-Forwarded-For": "10.1.2.3",
                                                      "X-Forwarded-Proto": "https"})
        h = echo(body)["headers_map"]
        self.assertEqual(h["x-forwarded-for"], ["10.1.2.3, 127.0.0.1"])  # appended
        self.assertEqual(h["x-forwarded-proto"], ["http"])               # set by sluice
        self.assertEqual(h["x-forwarded-host"], ["public.example:8080"])
        self.assertEqual(h["host"], ["public.example:8080"])             # host: pass

    def test_request_id_is_kept_when_present(self):
        _, headers, body = self.request("GET", "/api/echo", {"X-Request-Id": "abc-123"})
        self.assertEqual(echo(body)["headers_map"]["x-request-id"], ["abc-123"])
        self.assertEqual(headers["x-request-id"], "abc-123")

    def test_request_id_is_generated_when_absent(self):
        _, headers, body = self.request("GET", "/api/echo")
        sent = echo(body)["headers_map"]["x-request-id"]
        self.assertEqual(len(sent), 1)
        self.assertRegex(sent[0], r"^[0-9a-f]{32}$")
        self.assertEqual(headers["x-request-id"], sent[0])
        _, _, body2 = self.request("GET", "/api/echo")
        self.assertNotEqual(echo(body2)["headers_map"]["x-request-id"], sent)

    def test_hop_by_hop_headers_are_dropped(self):
        _, _, body = self.request("GET", "/api/echo", {
            "Connection": "keep-alive, X-Private", "Keep-Alive": "timeout=5",
            "X-Private": "secret", "TE": "trailers", "Proxy-Authorization": "Basic eA==",
            "Upgrade": "websocket", "X-Kept": "yes"})
        h = echo(body)["headers_map"]
        for name in ("keep-alive", "x-private", "te", "proxy-authorization", "upgrade"):
            self.assertNotIn(name, h)
        self.assertEqual(h["x-kept"], ["yes"])
        self.assertNotIn("close", h.get("connection", [""])[0])

    def test_host_rewrite_and_fixed(self):
        _, _, body = self.request("GET", "/rewrite/echo", {"Host": "public.example"})
        host = echo(body)["headers_map"]["host"][0]
        self.assertIn(host, (self.a.address, self.b.address))
        _, _, body = self.request("GET", "/fixed/echo", {"Host": "public.example"})
        h = echo(body)["headers_map"]
        self.assertEqual(h["host"], ["backend.internal:8443"])
        self.assertEqual(h["x-forwarded-host"], ["public.example"])

    def test_round_robin_over_servers(self):
        seen = [self.request("GET", "/api/echo")[1]["x-upstream"] for _ in range(6)]
        self.assertEqual(seen.count("a"), 3, seen)
        self.assertEqual(seen.count("b"), 3, seen)
        for i in range(1, 6):
            self.assertNotEqual(seen[i], seen[i - 1], seen)

    def test_keep_alive_on_both_sides_and_pipelining(self):
        conn = Conn(self.port)
        try:
            before = self.a.connections + self.b.connections
            # Three pipelined requests in one write, then more on the same connection.
            conn.send(b"".join(f"GET /api/echo/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                               for i in range(3)))
            paths = [echo(conn.read_response()[2])["path"] for _ in range(3)]
            self.assertEqual(paths, ["/api/echo/0", "/api/echo/1", "/api/echo/2"])
            for i in range(4):
                status, headers, body = conn.request("GET", f"/api/echo/more{i}")
                self.assertEqual(status, 200)
                self.assertEqual(headers["connection"], "keep-alive")
            # Seven requests need at most one new upstream connection per server.
            self.assertLessEqual(self.a.connections + self.b.connections - before, 2)
        finally:
            conn.close()

    def test_head_and_bodiless_statuses(self):
        conn = Conn(self.port)
        try:
            status, headers, body = conn.request("HEAD", "/api/download?size=1000")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-length"], "1000")
            self.assertEqual(body, b"")
            for code in (204, 304, 404, 503):
                status, headers, body = conn.request("GET", f"/api/status/{code}")
                self.assertEqual(status, code)
                self.assertEqual(body, b"")
            # The connection still works after all of them.
            self.assertEqual(conn.request("GET", "/api/echo")[0], 200)
        finally:
            conn.close()

    def test_http10_client_gets_a_close_delimited_stream(self):
        conn = Conn(self.port)
        try:
            conn.send(b"GET /api/download?size=5000&chunked=1 HTTP/1.0\r\n\r\n")
            status, headers, body = conn.read_response()
            self.assertEqual(status, 200)
            self.assertNotIn("transfer-encoding", headers)
            self.assertEqual(headers["connection"], "close")
            self.assertEqual(len(body), 5000)
            self.assertTrue(conn.eof)
        finally:
            conn.close()

    def test_expect_100_continue(self):
        conn = Conn(self.port)
        try:
            conn.send(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            status, _ = conn.read_head()
            self.assertEqual(status, 100)
            conn.send(b"data")
            status, headers, body = conn.read_response()
            self.assertEqual(status, 200)
            data = echo(body)
            self.assertEqual(data["body"], "data")
            self.assertNotIn("expect", data["headers_map"])
        finally:
            conn.close()

    def test_metrics_and_access_log(self):
        self.request("GET", "/api/echo/metrics-probe")
        m = metrics(self.port)
        self.assertGreaterEqual(metric_sum(m, "sluice_upstream_requests_total", upstream="app"), 1)
        self.assertGreaterEqual(metric_sum(m, "sluice_http_requests_total", route="/api/*",
                                           status="200"), 1)
        lines = [line for line in self.gw.access_log_lines()
                 if line.get("path") == "/api/echo/metrics-probe"]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["status"], 200)
        self.assertEqual(lines[0]["route"], "/api/*")
        self.assertGreater(lines[0]["bytes"], 0)


class ProxyWorkersTest(unittest.TestCase):
    def test_every_worker_loop_proxies_and_shuts_down_cleanly(self):
        with UpstreamServer() as up:
            extra = (f"upstreams:\n  app:\n    servers: [{up.address}]\n"
                     "    health_check: {path: /health, interval: 200ms}\n")
            routes = "- prefix: /api/\n  proxy:\n    upstream: app\n"
            with Gateway(make_config(routes=routes, extra=extra, workers=2)) as gw:
                statuses = [http_request(gw.port, "GET", f"/api/echo/{i}")[0] for i in range(20)]
                self.assertEqual(statuses, [200] * 20)
                # Idle pooled connections and health checks are open when the drain starts;
                # the stop below checks that sluice still exits cleanly.
                wait_until(lambda: "/health" in up.paths(), 5, what="a health check")


class ProxyReloadTest(unittest.TestCase):
    def test_reload_switches_to_new_servers(self):
        with UpstreamServer("old") as old, UpstreamServer("new") as new:
            gw = Gateway(proxy_config([old.address]))
            with gw:
                self.assertEqual(http_request(gw.port, "GET", "/api/echo")[1]["x-upstream"], "old")
                gw.config = proxy_config([new.address])
                gw.write_config(gw.config)
                gw.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 5
                seen = None
                while time.monotonic() < deadline:
                    seen = http_request(gw.port, "GET", "/api/echo")[1]["x-upstream"]
                    if seen == "new":
                        break
                    time.sleep(0.05)
                self.assertEqual(seen, "new")


if __name__ == "__main__":
    unittest.main()
