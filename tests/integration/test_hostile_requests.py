"""The hostile-request table (issue 9): malformed, ambiguous or smuggling-shaped requests
sent over raw sockets to the real binary. Each row names its exact answer: a status (and
whether the connection must then close), or a close without any answer. After every row
the gateway must still serve a normal SSE stream. docs/security.md lists the same table.

Rows whose answer depends on a fix made on another branch (proxyfix: UTF-8 validation of
publish `Event:` names) are in NEEDS_PROXYFIX and run in their own test method, so that the
rest of the table is green on its own; on the merged branches every row must pass."""

import json
import unittest

from harness import Conn, GatewayTestCase, SseClient, make_config, publish_position

LIMITS = {"max_header_size": "8KiB", "max_url_length": "2KiB", "max_body_size": "4KiB",
          "max_event_size": "8KiB", "header_timeout": "2s"}
H = b"Host: x\r\n"
PUB = b"POST /_sluice/publish/c:hostile HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer integration-token\r\n"
CLOSE = "close"  # expected: the connection is closed without a response

# (name, raw request bytes, expected status or CLOSE, connection closed afterwards?)
# closed=None: either is fine (the answer alone is what the row checks).
TABLE = [
    # Request line
    ("method with an invalid character", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("lower-case method", b"get / HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("unknown method token", b"FOO /_sluice/health HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("no request target", b"GET HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    # RFC 9112 3 lets a recipient split the request line on whitespace: the target is "/".
    ("two spaces after the method", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 404, False),
    ("space inside the target", b"GET /s/a b HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("TAB inside the target", b"GET /s/a\tb HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("NUL inside the target", b"GET /s/a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("bare CR ends the request line", b"GET / HTTP/1.1\r" + H + b"\r\n", 400, True),
    ("target longer than max_url_length", b"GET /" + b"u" * 3000 + b" HTTP/1.1\r\n" + H + b"\r\n",
     414, True),
    ("asterisk-form outside OPTIONS", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    # Versions
    ("HTTP/1.2", b"GET /_sluice/health HTTP/1.2\r\n" + H + b"\r\n", 505, True),
    ("HTTP/2.0 in an HTTP/1 request line", b"GET /_sluice/health HTTP/2.0\r\n" + H + b"\r\n",
     505, True),
    ("HTTP/0.9 version", b"GET /_sluice/health HTTP/0.9\r\n" + H + b"\r\n", 505, True),
    ("version without minor", b"GET / HTTP/1\r\n" + H + b"\r\n", 400, True),
    ("lower-case protocol name", b"GET / http/1.1\r\n" + H + b"\r\n", 400, True),
    ("garbage after the version", b"GET / HTTP/1.1x\r\n" + H + b"\r\n", 400, True),
    ("HTTP/1.0 without Host is fine", b"GET /_sluice/health HTTP/1.0\r\n\r\n", 200, True),
    # Host
    ("HTTP/1.1 without Host", b"GET /_sluice/health HTTP/1.1\r\n\r\n", 400, True),
    ("two Host headers", b"GET /_sluice/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, True),
    ("two identical Host headers", b"GET /_sluice/health HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
     400, True),
    ("Host with a space", b"GET /_sluice/health HTTP/1.1\r\nHost: a b\r\n\r\n", 400, True),
    ("Host with a slash", b"GET /_sluice/health HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, True),
    ("Host with userinfo", b"GET /_sluice/health HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, True),
    ("Host with a non-numeric port", b"GET /_sluice/health HTTP/1.1\r\nHost: a:b\r\n\r\n", 400, True),
    ("Host with a non-ASCII byte", b"GET /_sluice/health HTTP/1.1\r\nHost: \xc3\xa9.x\r\n\r\n",
     400, True),
    ("Host as an IPv6 literal with port", b"GET /_sluice/health HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
     200, False),
    ("empty Host", b"GET /_sluice/health HTTP/1.1\r\nHost:\r\n\r\n", 200, False),
    # Header syntax
    ("obs-fold continuation line", b"GET /_sluice/health HTTP/1.1\r\n" + H +
     b"X-A: a\r\n b\r\n\r\n", 400, True),
    ("whitespace before the colon", b"GET /_sluice/health HTTP/1.1\r\nHost : x\r\n\r\n", 400, True),
    ("whitespace before the first header", b"GET /_sluice/health HTTP/1.1\r\n " + H + b"\r\n",
     400, True),
    ("header line without a colon", b"GET /_sluice/health HTTP/1.1\r\n" + H + b"nocolon\r\n\r\n",
     400, True),
    ("empty header name", b"GET /_sluice/health HTTP/1.1\r\n" + H + b": v\r\n\r\n", 400, True),
    ("NUL in a header value", b"GET /_sluice/health HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
     400, True),
    ("bare CR in a header value", b"GET /_sluice/health HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
     400, True),
    ("bare LF in a header value", b"GET /_sluice/health HTTP/1.1\r\n" + H + b"X-A: a\nb\r\n\r\n",
     400, True),
    ("non-ASCII byte in a header name", b"GET /_sluice/health HTTP/1.1\r\n" + H +
     b"X-\xe9: v\r\n\r\n", 400, True),
    ("obs-text in a header value is allowed", b"GET /_sluice/health HTTP/1.1\r\n" + H +
     b"X-A: caf\xe9\r\n\r\n", 200, False),
    ("head larger than max_header_size", b"GET /_sluice/health HTTP/1.1\r\n" + H +
     b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, True),
    ("2,000 small headers (over max_header_size)", b"GET /_sluice/health HTTP/1.1\r\n" + H +
     b"".join(b"h%d: v\r\n" % i for i in range(2000)) + b"\r\n", 431, True),
    # Content-Length
    ("two identical Content-Length headers", PUB + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab",
     400, True),
    ("conflicting Content-Length headers", PUB + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
     400, True),
    ("Content-Length as a list", PUB + b"Content-Length: 2, 2\r\n\r\nab", 400, True),
    ("negative Content-Length", PUB + b"Content-Length: -1\r\n\r\n", 400, True),
    ("Content-Length with a plus sign", PUB + b"Content-Length: +2\r\n\r\nab", 400, True),
    ("Content-Length that overflows", PUB + b"Content-Length: 99999999999999999999999\r\n\r\n",
     400, True),
    ("Content-Length over max_event_size", PUB + b"Content-Length: 9000\r\n\r\n" + b"a" * 9000,
     413, True),
    # Transfer-Encoding
    ("Content-Length and Transfer-Encoding", PUB + b"Content-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, True),
    ("Transfer-Encoding in HTTP/1.0", b"POST /_sluice/publish/c:hostile HTTP/1.0\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, True),
    ("Transfer-Encoding not ending in chunked", PUB + b"Transfer-Encoding: gzip\r\n\r\nabc", 400, True),
    ("chunked applied twice", PUB + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
     400, True),
    ("a coding before chunked", PUB + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, True),
    ("Transfer-Encoding split over two lines", PUB + b"Transfer-Encoding: gzip\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, True),
    ("Transfer-Encoding: xchunked", PUB + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, True),
    ("Transfer-Encoding with a NUL", PUB + b"Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n",
     400, True),
    # Chunks
    ("chunk size that is not hex", PUB + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
     400, True),
    ("chunk size that overflows", PUB + b"Transfer-Encoding: chunked\r\n\r\n"
     b"fffffffffffffffffffff\r\nab\r\n0\r\n\r\n", 400, True),
    ("chunk size with a leading space", PUB + b"Transfer-Encoding: chunked\r\n\r\n 2\r\nab\r\n0\r\n\r\n",
     400, True),
    ("chunk data longer than its size", PUB + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
     400, True),
    ("chunk over max_event_size", PUB + b"Transfer-Encoding: chunked\r\n\r\n3000\r\n" +
     b"a" * 0x3000 + b"\r\n0\r\n\r\n", 413, True),
    ("chunk extension is allowed", PUB + b"Transfer-Encoding: chunked\r\n\r\n2;ext=1\r\nab\r\n"
     b"0\r\n\r\n", 200, False),
    ("chunk extension with a control byte", PUB + b"Transfer-Encoding: chunked\r\n\r\n"
     b"2;e\x01\r\nab\r\n0\r\n\r\n", 400, True),
    # Targets
    ("invalid percent-encoding in the path", b"GET /s/%zz HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("truncated percent-encoding", b"GET /s/ab% HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("percent-encoded wildcard in a channel", b"GET /s/a%2A HTTP/1.1\r\n" + H + b"\r\n", 400, False),
    ("percent-encoded NUL in a channel", b"GET /s/a%00 HTTP/1.1\r\n" + H + b"\r\n", 400, False),
    ("absolute-form target is routed by its path", b"GET http://x/_sluice/health HTTP/1.1\r\n" + H +
     b"\r\n", 200, False),
    ("CONNECT authority-form", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
     501, True),
    # Pipelining
    ("garbage pipelined after a valid request", b"GET /_sluice/health HTTP/1.1\r\n" + H + b"\r\n"
     b"GARBAGE\r\n\r\n", (200, 400), True),
    ("a request inside a body is not a request", PUB + b"Content-Length: 41\r\n\r\n"
     b"GET /_sluice/health HTTP/1.1\r\nHost: x\r\n\r\n", 200, False),
    # Publish Event: names
    ("Event: name with a NUL", PUB + b"Event: a\x00b\r\nContent-Length: 2\r\n\r\nhi", 400, True),
    ("Event: name with a bare CR", PUB + b"Event: a\rb\r\nContent-Length: 2\r\n\r\nhi", 400, True),
    ("Event: name with a bare LF", PUB + b"Event: a\nb\r\nContent-Length: 2\r\n\r\nhi", 400, True),
    ("Event: name with invalid UTF-8 (0x85)", PUB + b"Event: a\x85b\r\nContent-Length: 2\r\n\r\nhi",
     400, None),
    ("Event: name with a control character (0x01)", PUB + b"Event: a\x01b\r\nContent-Length: 2\r\n\r\nhi",
     400, None),
    ("Event: the reserved name gap", PUB + b"Event: gap\r\nContent-Length: 2\r\n\r\nhi", 400, False),
    ("Event: name in valid UTF-8", PUB + b"Event: caf\xc3\xa9\r\nContent-Length: 2\r\n\r\nhi", 200, False),
]


NEEDS_PROXYFIX = {"Event: name with invalid UTF-8 (0x85)"}


def exchange(port, data):
    """Sends data, then reads every response until the server closes or 2 s pass:
    (list of (status, body), closed)."""
    conn = Conn(port, timeout=5)
    try:
        conn.send(data)
        closed = conn.wait_closed(2)
        out = []
        while conn.buf:
            status, headers, body = conn.read_response()
            out.append((status, body))
        return out, closed
    finally:
        conn.close()


class HostileRequestTest(GatewayTestCase):
    CONFIG = make_config(limits=LIMITS)

    def test_table_has_at_least_40_rows(self):
        self.assertGreaterEqual(len(TABLE), 40)
        self.assertEqual(len({row[0] for row in TABLE}), len(TABLE), "row names are unique")

    def test_every_row(self):
        self.check_rows([row for row in TABLE if row[0] not in NEEDS_PROXYFIX])

    def test_rows_fixed_on_the_proxyfix_branch(self):
        self.check_rows([row for row in TABLE if row[0] in NEEDS_PROXYFIX])

    def check_rows(self, rows):
        for name, data, want, want_closed in rows:
            n = [row[0] for row in TABLE].index(name)
            with self.subTest(row=name):
                responses, closed = exchange(self.port, data)
                statuses = tuple(s for s, _ in responses)
                if want == CLOSE:
                    self.assertEqual(statuses, (), name)
                elif isinstance(want, tuple):
                    self.assertEqual(statuses, want, name)
                else:
                    self.assertEqual(statuses[:1], (want,), f"{name}: got {statuses}")
                    if want >= 400:  # error answers carry {"error", "status"}
                        doc = json.loads(responses[0][1])
                        self.assertEqual(doc["status"], want)
                if want_closed is not None:
                    self.assertEqual(closed, want_closed, f"{name}: closed={closed}")
                # The gateway still serves a normal stream after the row.
                channel = f"after{n}"
                client = SseClient(self.port, f"/s/{channel}", timeout=5)
                try:
                    self.assertEqual(client.status, 200, name)
                    client.next_event(5, all_blocks=True)
                    pos = publish_position(self.port, f"c:{channel}", "ok")
                    event = client.next_event(5)
                    self.assertIsNotNone(event, f"no stream after row {name!r}")
                    self.assertEqual(event["id"], str(pos))
                finally:
                    client.close()


if __name__ == "__main__":
    unittest.main()
