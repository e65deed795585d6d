"""HTTP/1.1 handling and limits: keep-alive, pipelining, error statuses (400, 404, 405,
408, 413, 414, 431), smuggling (CL+TE), idle timeout, connection caps (503, 429)."""

import json
import time
import unittest

from harness import (Conn, Gateway, GatewayTestCase, build_request, http_request,
                     make_config, parse_response, raw_exchange, wait_until)

LIMITS = {"max_header_size": "4KiB", "max_url_length": "1KiB", "max_body_size": "1KiB",
          "header_timeout": "1s", "idle_timeout": "1s"}


def health_request(extra=""):
    return f"GET /_sluice/health HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


class HttpLimitsTest(GatewayTestCase):
    CONFIG = make_config(limits=LIMITS)

    def assert_error(self, raw, status, closed=None):
        """raw holds one error response with a JSON body {"error", "status"}."""
        got, headers, body = parse_response(raw)
        self.assertEqual(got, status, raw[:300])
        doc = json.loads(body)
        self.assertEqual(doc["status"], status)
        self.assertIsInstance(doc["error"], str)
        if closed is not None:
            self.assertTrue(closed, f"connection left open after {status}")
        return headers

    def test_keep_alive_two_requests(self):
        conn = Conn(self.port)
        self.addCleanup(conn.close)
        for _ in range(2):
            status, headers, body = conn.request("GET", "/_sluice/health")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {"status": "ok"})
            self.assertNotIn("close", headers.get("connection", "").lower())

    def test_pipelining_answers_in_order(self):
        conn = Conn(self.port)
        self.addCleanup(conn.close)
        conn.send(build_request("GET", "/_sluice/health") + build_request("GET", "/nope/1") +
                  build_request("GET", "/_sluice/ready"))
        self.assertEqual(conn.read_response()[0], 200)
        self.assertEqual(conn.read_response()[0], 404)
        status, _, body = conn.read_response()
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"ready": True})

    def test_malformed_request_400_and_close(self):
        raw, closed = raw_exchange(self.port, b"THIS IS NOT HTTP\r\n\r\n")
        self.assert_error(raw, 400, closed)

    def test_bad_header_line_400(self):
        raw, closed = raw_exchange(self.port, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
        self.assert_error(raw, 400, closed)

    def test_unknown_path_404(self):
        status, _, body = http_request(self.port, "GET", "/no/such/route")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["status"], 404)

    def test_wrong_method_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE"):
            status, headers, body = http_request(self.port, method, "/s/abc", body=b"")
            self.assertEqual(status, 405, method)
            allowed = {m.strip() for m in headers.get("allow", "").split(",")}
            self.assertTrue({"GET", "HEAD"} <= allowed, headers)
            self.assertEqual(json.loads(body)["status"], 405)

    def test_body_over_max_body_size_413(self):
        raw, _ = raw_exchange(self.port, health_request("Content-Length: 5000\r\n") + b"a" * 5000)
        self.assert_error(raw, 413)

    def test_url_too_long_414(self):
        path = "/s/" + "a" * 2000
        raw, _ = raw_exchange(self.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        self.assert_error(raw, 414)

    def test_header_block_too_large_431(self):
        raw, _ = raw_exchange(self.port, health_request(f"X-Big: {'b' * 6000}\r\n"))
        self.assert_error(raw, 431)

    def test_many_headers_431(self):
        extra = "".join(f"X-H{i}: {'v' * 40}\r\n" for i in range(200))
        raw, _ = raw_exchange(self.port, health_request(extra))
        self.assert_error(raw, 431)

    def test_slow_headers_408_and_close(self):
        conn = Conn(self.port, timeout=10)
        self.addCleanup(conn.close)
        conn.send(b"GET /_sluice/health HTTP/1.1\r\nHost: x\r\n")  # head never completed
        started = time.monotonic()
        self.assertTrue(conn.wait_closed(10), "connection not closed after header_timeout")
        self.assertGreater(time.monotonic() - started, 0.5)  # it did wait for the timeout
        self.assert_error(bytes(conn.buf), 408)

    def test_content_length_and_transfer_encoding_400_and_close(self):
        req = (b"POST /_sluice/publish/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        conn = Conn(self.port)
        self.addCleanup(conn.close)
        conn.send(req)
        self.assertTrue(conn.wait_closed(5), "connection left open after a smuggling attempt")
        self.assert_error(bytes(conn.buf), 400)

    def test_bad_chunked_body_400(self):
        req = (b"POST /_sluice/publish/x HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        raw, closed = raw_exchange(self.port, req)
        self.assert_error(raw, 400, closed)

    def test_idle_keep_alive_closed_silently(self):
        conn = Conn(self.port, timeout=10)
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
        self.assertTrue(conn.wait_closed(10), "idle keep-alive connection not closed")
        self.assertEqual(bytes(conn.buf), b"", "idle close must not send a response")

    def test_busy_keep_alive_survives_idle_timeout(self):
        # Requests every 400ms keep a connection with a 1s idle timeout alive.
        conn = Conn(self.port)
        self.addCleanup(conn.close)
        for _ in range(5):
            self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
            time.sleep(0.4)


def read_rejection(port):
    """Connects and returns (raw bytes, closed). Sends a request only if the server does
    not answer on its own first (it may reject at accept time or after reading)."""
    conn = Conn(port, timeout=5)
    try:
        try:
            conn.fill(0.5)
        except TimeoutError:
            conn.send(health_request())
        closed = conn.wait_closed(5)
        return bytes(conn.buf), closed
    finally:
        conn.close()


def hold_connection(port, test):
    """An accepted keep-alive connection (retries while the cap still counts old ones)."""
    def attempt():
        conn = Conn(port)
        try:
            status = conn.request("GET", "/_sluice/health")[0]
        except (ConnectionError, OSError):
            status = None
        if status == 200:
            return conn
        conn.close()
        return None
    conn = wait_until(attempt, 5, 0.1, "a connection under the cap")
    test.addCleanup(conn.close)
    return conn


class ConnectionCapsTest(unittest.TestCase):
    def check_cap(self, limits, status):
        with Gateway(make_config(limits=limits)) as gw:
            first = hold_connection(gw.port, self)
            hold_connection(gw.port, self)
            raw, closed = read_rejection(gw.port)
            got, _, body = parse_response(raw)
            self.assertEqual(got, status, raw[:200])
            self.assertEqual(json.loads(body)["status"], status)
            self.assertTrue(closed, f"connection left open after {status}")
            first.close()  # capacity comes back once a held connection goes
            hold_connection(gw.port, self)

    def test_max_connections_503(self):
        self.check_cap({"max_connections": 2}, 503)

    def test_max_connections_per_ip_429(self):
        self.check_cap({"max_connections_per_ip": 2}, 429)


if __name__ == "__main__":
    unittest.main()
