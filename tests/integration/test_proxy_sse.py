"""Event streams through the proxy (issue 4 item 4): a text/event-stream answer passes
unbuffered and byte for byte, each event reaching the client while the upstream is still
streaming; heartbeats are injected (only between events) when the route asks; the read
timeout does not cut idle streams; a drain ends them."""

import signal
import time
import unittest

from harness import Conn, Gateway, GatewayTestCase, make_config
from harness_sse import SseParser
from upstreams import UpstreamServer

ROUTES = """
- prefix: /plain/
  proxy:
    upstream: app
- prefix: /beat/
  proxy:
    upstream: app
    heartbeat: 300ms
- prefix: /databeat/
  proxy:
    upstream: app
    heartbeat: {interval: 300ms, mode: data}
"""


def events(n, eol="\n"):
    return "".join(f"id: {i}{eol}data: {{\"n\":{i}}}{eol}{eol}" for i in range(1, n + 1)).encode()


class BodyReader:
    """Reads a response body incrementally from a Conn, undoing chunked framing."""

    def __init__(self, conn, headers):
        self.conn = conn
        self.chunked = "chunked" in headers.get("transfer-encoding", "")
        self.body = bytearray()
        self.ended = False
        self._chunk_left = 0

    def _parse(self):
        buf = self.conn.buf
        while not self.ended:
            if self._chunk_left == -2:
                if len(buf) < 2:
                    return
                del buf[:2]
                self._chunk_left = 0
                continue
            if self._chunk_left > 0:
                take = min(self._chunk_left, len(buf))
                if not take:
                    return
                self.body += buf[:take]
                del buf[:take]
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._chunk_left = -2  # the CRLF after the data
                continue
            if b"\r\n" not in buf:
                return
            line = bytes(buf[:buf.index(b"\r\n")])
            del buf[:len(line) + 2]
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self.ended = True  # the trailer section's CRLF stays in the buffer
                return
            self._chunk_left = size

    def read_until(self, predicate, timeout=5.0):
        """Reads until predicate(body) holds, the body ends, or timeout; returns the body."""
        deadline = time.monotonic() + timeout
        while not predicate(bytes(self.body)) and not self.ended:
            if self.chunked:
                self._parse()
                if predicate(bytes(self.body)) or self.ended:
                    break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                if not self.conn.fill(left):
                    if not self.chunked:
                        self.body += self.conn.buf
                        self.conn.buf.clear()
                    self.ended = True
                    break
            except (TimeoutError, OSError):
                break
            if not self.chunked:
                self.body += self.conn.buf
                self.conn.buf.clear()
        if self.chunked:
            self._parse()
        return bytes(self.body)

    def read_all(self, timeout=10.0):
        return self.read_until(lambda _: False, timeout)


class ProxySseTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = UpstreamServer().start()
        extra = f"upstreams:\n  app:\n    servers: [{cls.up.address}]\n    read_timeout: 500ms\n"
        cls.CONFIG = make_config(routes=ROUTES, extra=extra)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.up.stop()

    def open(self, path):
        conn = Conn(self.port, timeout=10)
        self.addCleanup(conn.close)
        conn.send(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
        status, headers = conn.read_head()
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/event-stream")
        return conn, headers, BodyReader(conn, headers)

    def test_chunked_stream_passes_byte_for_byte(self):
        _, headers, reader = self.open("/plain/sse?n=5&interval=0.02")
        self.assertEqual(headers["transfer-encoding"], "chunked")
        self.assertEqual(reader.read_all(), events(5))
        self.assertTrue(reader.ended)

    def test_close_delimited_stream_with_crlf_passes_byte_for_byte(self):
        _, headers, reader = self.open("/plain/sse?n=4&interval=0.02&chunked=0&crlf=1")
        # An HTTP/1.1 client gets the close-delimited stream re-framed as chunks (it keeps
        # the connection), the event bytes themselves unchanged.
        self.assertEqual(headers["transfer-encoding"], "chunked")
        self.assertEqual(reader.read_all(), events(4, "\r\n"))

    def test_each_event_arrives_while_the_upstream_is_still_streaming(self):
        _, _, reader = self.open("/plain/sse?n=1&hold=3")
        # The first event must arrive long before the upstream finishes (3 s later).
        body = reader.read_until(lambda b: b.endswith(b"\n\n"), timeout=2)
        self.assertEqual(body, events(1))
        self.assertFalse(reader.ended)

    def test_read_timeout_does_not_cut_an_idle_stream(self):
        # read_timeout is 500ms; the stream is silent for 1.5 s between its events and end.
        _, _, reader = self.open("/plain/sse?n=2&hold=1.5")
        self.assertEqual(reader.read_all(), events(2))
        self.assertTrue(reader.ended)

    def test_heartbeats_are_injected_between_events(self):
        _, _, reader = self.open("/beat/sse?n=2&hold=1.2")
        body = reader.read_all()
        self.assertTrue(body.startswith(events(2)), body)
        self.assertGreaterEqual(body.count(b": heartbeat\n\n"), 2, body)
        # Without the heartbeats, the stream is exactly what the upstream sent.
        self.assertEqual(body.replace(b": heartbeat\n\n", b""), events(2))
        parser = SseParser()
        parser.feed(body)
        data = [e["data"] for e in parser.events if e["data"] is not None]
        self.assertEqual(data, ['{"n":1}', '{"n":2}'])

    def test_data_heartbeats(self):
        _, _, reader = self.open("/databeat/sse?n=1&hold=1")
        body = reader.read_all()
        beat = b'data: {"type":"heartbeat"}\n\n'
        self.assertGreaterEqual(body.count(beat), 1, body)
        self.assertEqual(body.replace(beat, b""), events(1))

    def test_no_heartbeat_inside_an_unfinished_event(self):
        _, _, reader = self.open("/beat/sse?n=1&partial=1&hold=1.2")
        body = reader.read_all()
        tail = body[body.index(b"data: hel"):]
        self.assertEqual(tail, b"data: hello\n\n")  # the event was never split

    def test_no_heartbeats_without_the_route_option(self):
        _, _, reader = self.open("/plain/sse?n=1&hold=1")
        self.assertNotIn(b"heartbeat", reader.read_all())


class ProxySseDrainTest(unittest.TestCase):
    def test_drain_ends_a_proxied_stream(self):
        with UpstreamServer() as up:
            extra = f"upstreams:\n  app:\n    servers: [{up.address}]\n"
            gw = Gateway(make_config(routes=ROUTES, extra=extra))
            with gw:
                conn = Conn(gw.port, timeout=10)
                try:
                    conn.send(b"GET /plain/sse?n=1&hold=30 HTTP/1.1\r\nHost: x\r\n\r\n")
                    status, headers = conn.read_head()
                    reader = BodyReader(conn, headers)
                    self.assertEqual(reader.read_until(lambda b: b.endswith(b"\n\n")), events(1))
                    gw.send_signal(signal.SIGTERM)
                    reader.read_all(timeout=5)
                    self.assertTrue(reader.ended, "the stream did not end on drain")
                    self.assertEqual(gw.wait_exit(10), 0)
                finally:
                    conn.close()


if __name__ == "__main__":
    unittest.main()
