"""Proxy failures (issue 4 items 1 and 5): refused, reset, closed and garbled upstreams
answer 502, slow ones 504, each with a JSON body and a log line, and the client connection
stays usable where HTTP allows; retries only for idempotent requests that never reached a
server; passive and active health checks take servers out and bring them back."""

import json
import socket
import time
import unittest

from harness import Conn, Gateway, http_request, make_config, metric_sum, metrics, wait_until
from upstreams import ResettingServer, UpstreamServer, unused_port


def config(servers, upstream_extra="", route_extra=""):
    routes = "- prefix: /api/\n  proxy:\n    upstream: app\n" + route_extra
    extra = ("upstreams:\n  app:\n    servers: [" + ", ".join(servers) + "]\n" +
             upstream_extra)
    return make_config(routes=routes, extra=extra)


class FailureCase(unittest.TestCase):
    def gateway(self, cfg):
        gw = Gateway(cfg).start()
        self.addCleanup(gw.cleanup)
        self.addCleanup(gw.stop)
        return gw

    def assert_error(self, status, body, want):
        self.assertEqual(status, want, body)
        data = json.loads(body)
        self.assertEqual(data["status"], want)
        self.assertIsInstance(data["error"], str)
        self.assertTrue(data["error"])

    def proxy_error_logged(self, gw, status):
        gw.wait_log(lambda l: l.get("msg") == "proxy error" and l.get("status") == status,
                    what=f"a proxy error log line with status {status}")


class UpstreamFailuresTest(FailureCase):
    def test_refused_is_502_and_the_client_connection_stays_usable(self):
        gw = self.gateway(config([f"127.0.0.1:{unused_port()}"], "    max_fails: 0\n"))
        conn = Conn(gw.port)
        try:
            status, headers, body = conn.request("GET", "/api/echo")
            self.assert_error(status, body, 502)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(headers["connection"], "keep-alive")
            status, _, _ = conn.request("GET", "/_sluice/health")
            self.assertEqual(status, 200)
        finally:
            conn.close()
        self.proxy_error_logged(gw, 502)
        self.assertGreaterEqual(metric_sum(metrics(gw.port), "sluice_upstream_failures_total",
                                           upstream="app", reason="connect_failed"), 1)

    def test_reset_is_502(self):
        with ResettingServer() as bad:
            gw = self.gateway(config([bad.address], "    max_fails: 0\n"))
            conn = Conn(gw.port)
            try:
                status, _, body = conn.request("GET", "/api/echo")
                self.assert_error(status, body, 502)
                status, _, body = conn.request("POST", "/api/echo", body="x")
                self.assert_error(status, body, 502)
            finally:
                conn.close()
            self.proxy_error_logged(gw, 502)

    def test_reset_by_a_server_mid_request_is_502(self):
        with UpstreamServer() as up:
            gw = self.gateway(config([up.address], "    max_fails: 0\n"))
            for path in ("/api/reset", "/api/close", "/api/garbage"):
                status, _, body = http_request(gw.port, "GET", path)
                self.assert_error(status, body, 502)
            self.assertEqual(http_request(gw.port, "GET", "/api/echo")[0], 200)

    def test_slow_upstream_is_504_and_the_connection_stays_usable(self):
        with UpstreamServer() as up:
            gw = self.gateway(config([up.address], "    read_timeout: 300ms\n"))
            conn = Conn(gw.port)
            try:
                status, headers, body = conn.request("GET", "/api/slow?delay=2")
                self.assert_error(status, body, 504)
                self.assertEqual(headers["connection"], "keep-alive")
                self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
            finally:
                conn.close()
            self.proxy_error_logged(gw, 504)

    def test_route_read_timeout_overrides_the_upstream(self):
        with UpstreamServer() as up:
            gw = self.gateway(config([up.address], "    read_timeout: 10s\n",
                                     "    read_timeout: 300ms\n"))
            status, _, body = http_request(gw.port, "GET", "/api/slow?delay=2")
            self.assert_error(status, body, 504)

    def test_timeout_inside_a_body_closes_the_client_connection(self):
        with UpstreamServer() as up:
            gw = self.gateway(config([up.address], "    read_timeout: 300ms\n"))
            conn = Conn(gw.port)
            try:
                conn.send(b"GET /api/slowbody?delay=2 HTTP/1.1\r\nHost: x\r\n\r\n")
                status, headers = conn.read_head()
                self.assertEqual(status, 200)  # the head was already out
                self.assertEqual(headers["content-length"], "100")
                self.assertTrue(conn.wait_closed(5))
                self.assertLess(len(conn.buf), 100)  # the body was cut short
            finally:
                conn.close()
            self.proxy_error_logged(gw, 200)

    def test_connect_timeout_is_504(self):
        # A listener whose accept queue is full: the kernel drops further SYNs, so a
        # connect hangs (on loopback, nothing leaves the machine).
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(0)
        fillers = []
        try:
            port = blocker.getsockname()[1]
            for _ in range(4):  # fill the queue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                fillers.append(s)
            time.sleep(0.2)
            gw = self.gateway(config([f"127.0.0.1:{port}"], "    connect_timeout: 300ms\n"))
            status, _, body = http_request(gw.port, "GET", "/api/echo")
            self.assert_error(status, body, 504)
            self.proxy_error_logged(gw, 504)
        finally:
            for s in fillers:
                s.close()
            blocker.close()


class RetryTest(FailureCase):
    def test_idempotent_requests_retry_on_another_server(self):
        with UpstreamServer("good") as good:
            gw = self.gateway(config([f"127.0.0.1:{unused_port()}", good.address],
                                     "    max_fails: 0\n"))
            for method in ("GET", "HEAD", "PUT", "DELETE"):
                for _ in range(2):
                    status, headers, _ = http_request(gw.port, method, "/api/echo")
                    self.assertEqual(status, 200, method)
                    self.assertEqual(headers["x-upstream"], "good")
            self.assertGreaterEqual(metric_sum(metrics(gw.port), "sluice_upstream_retries_total",
                                               upstream="app"), 4)

    def test_non_idempotent_requests_are_not_retried(self):
        with UpstreamServer("good") as good:
            gw = self.gateway(config([f"127.0.0.1:{unused_port()}", good.address],
                                     "    max_fails: 0\n"))
            statuses = [http_request(gw.port, "POST", "/api/echo", body="x")[0] for _ in range(4)]
            self.assertEqual(sorted(statuses), [200, 200, 502, 502])
            self.assertEqual(good.paths().count("/api/echo"), 2)

    def test_a_request_that_reached_a_server_is_not_retried(self):
        with ResettingServer() as bad, UpstreamServer("good") as good:
            gw = self.gateway(config([bad.address, good.address], "    max_fails: 0\n"))
            statuses = [http_request(gw.port, "GET", "/api/echo")[0] for _ in range(4)]
            # The resetting server got the request bytes: its answer is 502, not a retry.
            self.assertEqual(sorted(statuses), [200, 200, 502, 502])
            self.assertEqual(bad.connections, 2)


class HealthTest(FailureCase):
    def test_passive_health_skips_a_failing_server(self):
        with ResettingServer() as bad, UpstreamServer("good") as good:
            gw = self.gateway(config([bad.address, good.address],
                                     "    max_fails: 1\n    fail_timeout: 30s\n"))
            statuses = [http_request(gw.port, "POST", "/api/echo", body="x")[0] for _ in range(6)]
            self.assertEqual(statuses.count(502), 1, statuses)  # the first try marks it down
            self.assertEqual(bad.connections, 1)
            gw.wait_log(lambda l: l.get("msg") == "upstream server marked down" and
                        l.get("server") == bad.address)

    def test_passive_health_gives_a_server_another_chance_after_fail_timeout(self):
        # Two servers: a lone server is never marked down (the next test).
        gw = self.gateway(config([f"127.0.0.1:{unused_port()}", f"127.0.0.1:{unused_port()}"],
                                 "    max_fails: 1\n    fail_timeout: 500ms\n"))
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(json.loads(body)["error"], "upstream refused the connection")
        # Both marked down: answered at once, without trying either server.
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assert_error(status, body, 502)
        self.assertIn("no healthy upstream", json.loads(body)["error"])
        time.sleep(0.7)  # after fail_timeout the servers are tried (and refused) again
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(json.loads(body)["error"], "upstream refused the connection")

    def test_a_lone_server_is_never_marked_down(self):
        # As in nginx: with no other server to send requests to, a refused connect must
        # not turn the requests after the server is back into 502s for fail_timeout.
        up = UpstreamServer("a").start()
        port = up.port
        # max_idle 0: no pooled connection to the old process survives its stop.
        gw = self.gateway(config([up.address],
                                 "    max_fails: 1\n    fail_timeout: 1h\n    max_idle: 0\n"))
        try:
            self.assertEqual(http_request(gw.port, "GET", "/api/echo")[0], 200)
        finally:
            up.stop()
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assert_error(status, body, 502)
        self.assertEqual(json.loads(body)["error"], "upstream refused the connection")
        with UpstreamServer("b", port=port) as again:
            status, headers, body = http_request(gw.port, "GET", "/api/echo")
            self.assertEqual(status, 200, body)
            self.assertEqual(headers["x-upstream"], "b")
            self.assertEqual(again.paths(), ["/api/echo"])
        self.assertFalse([l for l in gw.error_log_json()
                          if l.get("msg") == "upstream server marked down"])
        self.assertEqual(metric_sum(metrics(gw.port), "sluice_upstream_failures_total",
                                    upstream="app", reason="connect_failed"), 1)

    def test_active_health_check_takes_a_server_out_and_back(self):
        with UpstreamServer("a") as a, UpstreamServer("b") as b:
            gw = self.gateway(config(
                [a.address, b.address],
                "    health_check: {path: /health, interval: 200ms, timeout: 1s}\n"))
            wait_until(lambda: "/health" in a.paths() and "/health" in b.paths(), 5,
                       what="health checks on both servers")
            check = a.last() if a.last()["path"] == "/health" else None
            if check:
                self.assertEqual(check["headers"]["user-agent"], "sluice-health-check")
            a.healthy = False
            gw.wait_log(lambda l: l.get("msg") == "upstream server failed its health check" and
                        l.get("server") == a.address)
            seen = {http_request(gw.port, "GET", "/api/echo")[1]["x-upstream"] for _ in range(6)}
            self.assertEqual(seen, {"b"})
            a.healthy = True
            gw.wait_log(lambda l: l.get("msg") == "upstream server healthy" and
                        l.get("server") == a.address)
            seen = {http_request(gw.port, "GET", "/api/echo")[1]["x-upstream"] for _ in range(6)}
            self.assertEqual(seen, {"a", "b"})


if __name__ == "__main__":
    unittest.main()
