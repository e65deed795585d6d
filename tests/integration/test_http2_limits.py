"""The known HTTP/2 attacks, each against the real binary with frames written by hand
(h2raw.py) on an h2c listener, and each followed by a check that the server still serves:
rapid reset (CVE-2023-44487: HEADERS then RST_STREAM in a burst -> GOAWAY
ENHANCE_YOUR_CALM), CONTINUATION flood (CVE-2024-27316: a header block that never ends ->
the connection is closed), SETTINGS with too many entries and PING/SETTINGS floods ->
GOAWAY, a connection whose window stays shut -> closed after idle_timeout, an idle
connection -> GOAWAY after idle_timeout; and a bad preface on the h2c listener."""

import socket
import struct
import unittest

from h2raw import (CONTINUATION, END_STREAM, ENHANCE_YOUR_CALM, END_HEADERS, HEADERS, NO_ERROR, PING,
                   PREFACE, SETTINGS, SETTINGS_INITIAL_WINDOW_SIZE, H2Raw, Stream, frame, hpack_literal,
                   request_block, settings_frame)
from harness import GatewayTestCase, make_config, metric_sum, metrics, publish_position, wait_metric, wait_until


def h2c_config(limits=None):
    text = make_config(limits=limits)
    return text.replace("listen: 127.0.0.1:@PORT@\n",
                        "listen:\n  - 127.0.0.1:@PORT@\n  - {address: 127.0.0.1:0, http2: true}\n")


def h2c_port(gw):
    def find():
        for doc in gw.error_log_json():
            if doc.get("msg") == "listening" and doc.get("h2c"):
                return int(doc["address"].rsplit(":", 1)[1])
        return None
    return wait_until(find, 5, what="the h2c listening line")


class Http2LimitsTest(GatewayTestCase):
    CONFIG = h2c_config({"idle_timeout": "2s"})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = h2c_port(cls.gw)  # the h2c listener's, not the plain one

    def client(self, **kw):
        c = H2Raw(self.port, **kw)
        self.addCleanup(c.close)
        return c

    def goaways(self, reason):
        return metric_sum(metrics(self.gw.port), "sluice_http2_goaways_total", reason=reason)

    def assert_still_serves(self):
        c = self.client()
        sid = c.request("/_sluice/health")
        c.read_until(lambda c: c.streams[sid].ended, 5, "a health answer on a new connection")
        self.assertEqual(c.streams[sid].status, 200)
        self.assertEqual(bytes(c.streams[sid].data), b'{"status":"ok"}')

    def test_rapid_reset_gets_goaway_enhance_your_calm(self):
        before = self.goaways("rapid_reset")
        c = self.client()
        burst = b""
        for i in range(300):
            sid = 1 + 2 * i
            burst += frame(HEADERS, END_HEADERS | 0x1, sid, request_block("/p/rr?position=0"))
            burst += frame(3, 0, sid, struct.pack(">I", 8))  # RST_STREAM CANCEL
        c.next_id = 601
        try:
            c.send(burst)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before it read the whole burst
        c.read_until(lambda c: c.goaway is not None or c.closed, 5, "GOAWAY")
        self.assertIsNotNone(c.goaway)
        self.assertEqual(c.goaway[1], ENHANCE_YOUR_CALM)
        self.assertLess(c.goaway[0], 601)
        c.read_to_close(5)
        self.assertEqual(self.goaways("rapid_reset"), before + 1)
        self.assertGreaterEqual(metric_sum(metrics(self.gw.port), "sluice_http2_stream_resets_total",
                                           reason="client"), 200)
        self.assert_still_serves()

    def test_a_few_client_resets_are_fine(self):
        c = self.client()
        for _ in range(20):
            sid = c.request("/s/fewresets")
            c.rst(sid)
        sid = c.request("/_sluice/health")
        c.read_until(lambda c: c.streams[sid].ended, 5, "the answer after 20 resets")
        self.assertEqual(c.streams[sid].status, 200)
        self.assertIsNone(c.goaway)

    def test_continuation_flood_closes_the_connection(self):
        before = self.goaways("protocol")
        c = self.client()
        c.streams[1] = Stream()
        c.send(frame(HEADERS, 0, 1, request_block("/_sluice/health")))  # no END_HEADERS
        try:
            for i in range(50):  # never END_HEADERS: nghttp2 allows 8 CONTINUATIONs
                c.send(frame(CONTINUATION, 0, 1, hpack_literal(f"x-flood-{i}", "a")))
        except (BrokenPipeError, ConnectionResetError):
            pass
        c.read_to_close(5)
        self.assertIsNone(c.streams[1].status)  # never answered
        self.assertEqual(self.goaways("protocol"), before + 1)
        self.assert_still_serves()

    def test_header_block_over_the_list_size_is_answered_431(self):
        c = self.client()
        big = [(f"x-big-{i}", "v" * 1000) for i in range(20)]  # 20 KB > max_header_size 16 KiB
        block = request_block("/_sluice/health", headers=big)
        # Within nghttp2's CONTINUATION limit: HEADERS plus two CONTINUATIONs.
        third = len(block) // 3
        c.send(frame(HEADERS, END_STREAM, 1, block[:third]) + frame(CONTINUATION, 0, 1, block[third:2 * third]) +
               frame(CONTINUATION, END_HEADERS | 0, 1, block[2 * third:]))
        c.streams[1] = Stream()
        c.read_until(lambda c: c.streams[1].ended or c.streams[1].reset is not None, 5, "the answer")
        self.assertEqual(c.streams[1].status, "other")  # 431 is not in HPACK's static table
        self.assertIn(b"request header fields too large", c.streams[1].data)

    def test_settings_with_too_many_entries_gets_goaway(self):
        c = self.client()
        c.send(frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", 0x100 + i, 1) for i in range(40))))
        c.read_until(lambda c: c.goaway is not None or c.closed, 5, "GOAWAY")
        self.assertIsNotNone(c.goaway)
        self.assertEqual(c.goaway[1], ENHANCE_YOUR_CALM)
        c.read_to_close(5)
        self.assert_still_serves()

    def test_ping_flood_gets_goaway(self):
        before = self.goaways("protocol")
        c = self.client()
        try:
            c.send(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(1000)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        c.read_until(lambda c: c.goaway is not None or c.closed, 5, "GOAWAY")
        self.assertEqual(c.goaway and c.goaway[1], ENHANCE_YOUR_CALM)
        c.read_to_close(5)
        self.assertEqual(self.goaways("protocol"), before + 1)
        self.assert_still_serves()

    def test_settings_flood_gets_goaway(self):
        c = self.client()
        try:
            c.send(b"".join(settings_frame({SETTINGS_INITIAL_WINDOW_SIZE: 65535}) for _ in range(1000)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        c.read_until(lambda c: c.goaway is not None or c.closed, 5, "GOAWAY")
        self.assertEqual(c.goaway and c.goaway[1], ENHANCE_YOUR_CALM)
        c.read_to_close(5)
        self.assert_still_serves()

    def test_connection_window_that_stays_shut_is_closed(self):
        # The stream window is open, the connection window is never acknowledged: once the
        # 64 KiB connection window is spent, nothing moves for longer than idle_timeout.
        before = self.goaways("stalled")
        c = self.client()
        c.conn_update = False
        sid = c.request("/s/connstall")
        c.read_until(lambda c: c.streams[sid].status == 200, 5, "the stream head")
        chunk = "y" * 8000
        for i in range(12):  # 96 KB
            publish_position(self.gw.port, "c:connstall", f"{i}-{chunk}")
        c.read_to_close(15)
        self.assertLess(len(c.streams[sid].data), 70000)
        wait_metric(self.gw.port, "sluice_http2_goaways_total", lambda v: v == before + 1,
                    "the stalled GOAWAY", reason="stalled")
        self.assert_still_serves()

    def test_idle_connection_gets_goaway(self):
        c = self.client()
        sid = c.request("/_sluice/health")
        c.read_until(lambda c: c.streams[sid].ended, 5, "the answer")
        c.read_until(lambda c: c.goaway is not None, 8, "GOAWAY after idle_timeout (2s)")
        self.assertEqual(c.goaway, (sid, NO_ERROR))
        c.read_to_close(5)

    def test_bad_preface_on_the_h2c_listener_is_http1(self):
        # "PRI" that goes on differently is not HTTP/2: the HTTP/1.1 parser answers it.
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(PREFACE[:10] + b"1.1\r\n\r\n")
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 "), data)


if __name__ == "__main__":
    unittest.main()
