"""Proxy framing under hostile input (issue 9): a malformed or cut-short request body on a
proxy route is answered 400 (or closes the connection once the response has begun) and
its upstream connection is closed, never pooled; bodiless upstream answers (204, 304, 1xx)
are never waited on for a body; a broken upstream body is 502 while nothing went out to the
client, else the client connection is closed after what was sent. Scripted raw-socket
upstreams (upstreams.ScriptedServer) send what no HTTP library would."""

import json
import unittest

from harness import Conn, Gateway, http_request, make_config, wait_until
from upstreams import CLOSE, HOLD, ScriptedServer

HEAD_CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"


def config(server, upstream_extra="    read_timeout: 10s\n"):
    routes = "- prefix: /api/\n  proxy:\n    upstream: app\n"
    extra = f"upstreams:\n  app:\n    servers: [{server.address}]\n" + upstream_extra
    return make_config(routes=routes, extra=extra)


class FramingCase(unittest.TestCase):
    def gateway(self, server, upstream_extra="    read_timeout: 10s\n"):
        gw = Gateway(config(server, upstream_extra)).start()
        self.addCleanup(gw.cleanup)
        self.addCleanup(gw.stop)
        return gw

    def conn(self, gw):
        c = Conn(gw.port)
        self.addCleanup(c.close)
        return c

    def assert_error(self, status, body, want):
        self.assertEqual(status, want, body)
        self.assertEqual(json.loads(body)["status"], want)

    def assert_not_marked_down(self, gw):
        names = [l.get("msg") for l in gw.error_log_json()]
        self.assertNotIn("upstream server marked down", names)


class BadClientBodyTest(FramingCase):
    """The upstream reads the request head and waits for the body, which never completes."""

    BAD_CHUNKS = [b"zz\r\nabc\r\n0\r\n\r\n", b"3\nabc\n0\n\n", b"3 \r\nabc\r\n0\r\n\r\n",
                  b"0x3\r\nabc\r\n0\r\n\r\n", b"3;foo\nbar\r\n0\r\n\r\n"]

    def test_bad_chunked_body_before_the_answer_is_400_and_the_upstream_is_abandoned(self):
        with ScriptedServer({}) as up:
            gw = self.gateway(up)
            for i, bad in enumerate(self.BAD_CHUNKS):
                with self.subTest(body=bad):
                    path = f"/api/upload/{i}"
                    c = self.conn(gw)
                    c.send(f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n".encode())
                    wait_until(lambda: up.connection_for(path), what="the upstream request")
                    c.send(bad)
                    status, headers, body = c.read_response()
                    self.assert_error(status, body, 400)
                    self.assertEqual(headers["connection"], "close")
                    self.assertTrue(c.wait_closed(5))
                    # The upstream connection carried half a request: closed, not pooled.
                    self.assertTrue(up.connection_for(path).closed_by_peer.wait(5))
            self.assertEqual(up.connection_count(), len(self.BAD_CHUNKS))
            gw.wait_log(lambda l: l.get("msg") == "proxy error" and l.get("status") == 400)
            # The server was not to blame: it still answers through sluice.
            self.assertEqual(http_request(gw.port, "GET", "/api/ok")[0], 200)
            self.assert_not_marked_down(gw)

    def test_bad_chunk_in_the_same_packet_as_the_head_is_400(self):
        with ScriptedServer({}) as up:
            gw = self.gateway(up)
            c = self.conn(gw)
            c.send(b"POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"zz\r\n")
            status, _, body = c.read_response()
            self.assert_error(status, body, 400)
            self.assertTrue(c.wait_closed(5))

    def test_bad_chunk_after_the_response_began_closes_the_client(self):
        early = [HEAD_CHUNKED + b"5\r\nhello\r\n", HOLD]
        with ScriptedServer({"/api/early": early}, read_body=False) as up:
            gw = self.gateway(up)
            c = self.conn(gw)
            c.send(b"POST /api/early HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            status, headers = c.read_head()
            self.assertEqual(status, 200)
            self.assertEqual(c.read_line(), b"5")  # the response is under way
            c.send(b"3\nabc\n0\n\n")
            self.assertTrue(c.wait_closed(5))
            self.assertNotIn(b"0\r\n\r\n", bytes(c.buf))  # never completed: no last chunk
            self.assertTrue(up.connection_for("/api/early").closed_by_peer.wait(5))

    def test_client_closing_mid_body_abandons_the_upstream_connection(self):
        with ScriptedServer({}) as up:
            gw = self.gateway(up)
            for path, head, part in (
                    ("/api/cl", "Content-Length: 100", b"0123456789"),
                    ("/api/te", "Transfer-Encoding: chunked", b"a\r\n0123456789\r\n")):
                with self.subTest(framing=head):
                    c = Conn(gw.port)
                    c.send(f"POST {path} HTTP/1.1\r\nHost: x\r\n{head}\r\n\r\n".encode() + part)
                    wait_until(lambda: up.connection_for(path), what="the upstream request")
                    c.close()
                    self.assertTrue(up.connection_for(path).closed_by_peer.wait(5))
            # A later request gets a fresh upstream connection (nothing half-used was pooled).
            self.assertEqual(http_request(gw.port, "GET", "/api/ok")[0], 200)
            self.assertEqual(up.connection_count(), 3)
            self.assertEqual(up.connection_for("/api/ok").number, 3)


class BodilessAnswersTest(FramingCase):
    NOT_MODIFIED = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n'
    NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"

    def test_304_with_content_length_is_not_waited_on(self):
        with ScriptedServer({"/api/nm": [self.NOT_MODIFIED]}) as up:
            # With read_timeout 30s, waiting for the 304's "body" would time the reads out.
            gw = self.gateway(up, "    read_timeout: 30s\n    max_fails: 1\n")
            c = self.conn(gw)
            # Pipelined: the request behind the 304 must not be dropped.
            c.send(b"GET /api/nm HTTP/1.1\r\nHost: x\r\n\r\nGET /api/ok HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = c.read_response()
            self.assertEqual(status, 304)
            self.assertEqual(headers["etag"], '"v1"')
            self.assertEqual(headers["content-length"], "5")  # the representation's length
            status, _, body = c.read_response()
            self.assertEqual((status, body), (200, b"ok"))
            # The upstream connection was reused for the second request: it was healthy.
            self.assertEqual(up.connection_count(), 1)
            self.assertEqual(http_request(gw.port, "GET", "/api/ok")[0], 200)
            self.assert_not_marked_down(gw)

    def test_204_drops_its_content_length(self):
        with ScriptedServer({"/api/nc": [self.NO_CONTENT]}) as up:
            gw = self.gateway(up)
            c = self.conn(gw)
            c.send(b"GET /api/nc HTTP/1.1\r\nHost: x\r\n\r\nGET /api/ok HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, _ = c.read_response()
            self.assertEqual(status, 204)
            self.assertNotIn("content-length", headers)
            self.assertNotIn("transfer-encoding", headers)
            self.assertEqual(headers["x-a"], "1")
            self.assertEqual(c.read_response()[0:3:2], (200, b"ok"))
            self.assertEqual(up.connection_count(), 1)

    def test_head_answer_with_content_length_has_no_body(self):
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        with ScriptedServer({"/api/h": [head]}) as up:
            gw = self.gateway(up)
            c = self.conn(gw)
            c.send(b"HEAD /api/h HTTP/1.1\r\nHost: x\r\n\r\nGET /api/ok HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = c.read_response("HEAD")
            self.assertEqual((status, headers["content-length"], body), (200, "1000", b""))
            self.assertEqual(c.read_response()[0:3:2], (200, b"ok"))
            self.assertEqual(up.connection_count(), 1)

    def test_interim_100_is_skipped(self):
        answer = (b"HTTP/1.1 100 Continue\r\n\r\n"
                  b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade")
        with ScriptedServer({"/api/c": [answer]}) as up:
            gw = self.gateway(up)
            status, _, body = http_request(gw.port, "POST", "/api/c", body="x")
            self.assertEqual((status, body), (201, b"made"))

    def test_101_is_502(self):
        answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
        with ScriptedServer({"/api/up": [answer, HOLD]}) as up:
            gw = self.gateway(up)
            status, _, body = http_request(gw.port, "GET", "/api/up")
            self.assert_error(status, body, 502)
            self.assertTrue(up.connection_for("/api/up").closed_by_peer.wait(5))


class BrokenUpstreamBodyTest(FramingCase):
    def test_bad_chunk_size_with_the_head_is_502(self):
        answer = [HEAD_CHUNKED + b"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", HOLD]
        with ScriptedServer({"/api/big": answer}) as up:
            gw = self.gateway(up, "    read_timeout: 10s\n    max_fails: 0\n")
            c = self.conn(gw)
            status, headers, body = c.request("GET", "/api/big")
            self.assert_error(status, body, 502)
            self.assertEqual(headers["connection"], "keep-alive")  # nothing of it went out
            self.assertEqual(c.request("GET", "/api/ok")[0:3:2], (200, b"ok"))
            self.assertTrue(up.connection_for("/api/big").closed_by_peer.wait(5))
            self.assertEqual(up.connection_for("/api/ok").number, 2)  # not pooled

    def test_bad_chunk_size_after_the_head_closes_the_client(self):
        answer = [HEAD_CHUNKED + b"3\r\nabc\r\n", 0.3, b"ffffffffffffffffff\r\nabc\r\n", HOLD]
        with ScriptedServer({"/api/big": answer}) as up:
            gw = self.gateway(up, "    read_timeout: 10s\n    max_fails: 0\n")
            c = self.conn(gw)
            c.send(b"GET /api/big HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers = c.read_head()
            self.assertEqual(status, 200)
            self.assertEqual(headers["transfer-encoding"], "chunked")
            self.assertTrue(c.wait_closed(5))
            self.assertEqual(bytes(c.buf), b"3\r\nabc\r\n")  # what was sent, then the close
            self.assertTrue(up.connection_for("/api/big").closed_by_peer.wait(5))

    def test_upstream_closing_mid_body_closes_the_client_after_what_was_sent(self):
        cases = {
            "/api/cl": [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 0.2, CLOSE],
            "/api/te": [HEAD_CHUNKED + b"a\r\n0123456789\r\n", 0.2, CLOSE],
        }
        with ScriptedServer(cases) as up:
            gw = self.gateway(up, "    read_timeout: 10s\n    max_fails: 0\n")
            for path in cases:
                with self.subTest(path=path):
                    c = self.conn(gw)
                    c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    status, headers = c.read_head()
                    self.assertEqual(status, 200)
                    self.assertTrue(c.wait_closed(5))
                    if path == "/api/cl":
                        self.assertEqual(headers["content-length"], "100")
                        self.assertEqual(bytes(c.buf), b"0123456789")  # short of 100
                    else:
                        self.assertEqual(bytes(c.buf), b"a\r\n0123456789\r\n")  # no last chunk
            gw.wait_log(lambda l: l.get("msg") == "proxy error" and l.get("status") == 200)

    def test_content_length_longer_than_the_body_times_out_and_closes(self):
        answer = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", HOLD]
        with ScriptedServer({"/api/short": answer}) as up:
            gw = self.gateway(up, "    read_timeout: 300ms\n    max_fails: 0\n")
            c = self.conn(gw)
            c.send(b"GET /api/short HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers = c.read_head()
            self.assertEqual((status, headers["content-length"]), (200, "100"))
            self.assertTrue(c.wait_closed(5))
            self.assertEqual(bytes(c.buf), b"0123456789")
            self.assertTrue(up.connection_for("/api/short").closed_by_peer.wait(5))

    def test_garbage_instead_of_a_status_line_is_502(self):
        with ScriptedServer({"/api/g": [b"SSH-2.0-OpenSSH_9.2\r\n\r\n", HOLD]}) as up:
            gw = self.gateway(up, "    read_timeout: 10s\n    max_fails: 0\n")
            status, _, body = http_request(gw.port, "GET", "/api/g")
            self.assert_error(status, body, 502)
            self.assertIn("invalid response", json.loads(body)["error"])
            self.assertTrue(up.connection_for("/api/g").closed_by_peer.wait(5))

    def test_a_status_above_599_is_502(self):
        # No such status class (RFC 9110 15): the client gets a clear 502, not a 600.
        answer = [b"HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\n\r\nok", HOLD]
        with ScriptedServer({"/api/s600": answer}) as up:
            gw = self.gateway(up, "    read_timeout: 10s\n    max_fails: 0\n")
            status, _, body = http_request(gw.port, "GET", "/api/s600")
            self.assert_error(status, body, 502)
            self.assertIn("invalid response", json.loads(body)["error"])
            self.assertTrue(up.connection_for("/api/s600").closed_by_peer.wait(5))
            self.assertTrue(gw.wait_log(lambda l: "invalid status code" in json.dumps(l)))


if __name__ == "__main__":
    unittest.main()
