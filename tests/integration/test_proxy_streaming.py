"""Streaming through the proxy (issue 4 item 2): request and response bodies flow as
they arrive, with backpressure both ways, so a large upload or download never piles up
inside sluice: while one side does not read, the other side is held back."""

import hashlib
import json
import socket
import threading
import time
import unittest

from harness import HOST, Conn, GatewayTestCase, make_config
from upstreams import UpstreamServer, pattern_bytes

MiB = 1024 * 1024


class StreamingTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = UpstreamServer().start()
        routes = "- prefix: /api/\n  proxy:\n    upstream: app\n"
        extra = f"upstreams:\n  app:\n    servers: [{cls.up.address}]\n    read_timeout: 20s\n"
        cls.CONFIG = make_config(routes=routes, extra=extra, limits={"idle_timeout": "3s"})
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.up.stop()

    def download(self, size, chunked):
        conn = Conn(self.port, timeout=20)
        try:
            flag = "1" if chunked else "0"
            status, headers, body = conn.request("GET", f"/api/download?size={size}&chunked={flag}")
        finally:
            conn.close()
        self.assertEqual(status, 200)
        return headers, body

    def test_download_with_content_length_is_passed_through(self):
        headers, body = self.download(3 * MiB + 17, chunked=False)
        self.assertEqual(headers["content-length"], str(3 * MiB + 17))
        self.assertEqual(body, pattern_bytes(0, 3 * MiB + 17))

    def test_chunked_download_reaches_the_client_chunked(self):
        headers, body = self.download(2 * MiB + 5, chunked=True)
        self.assertEqual(headers["transfer-encoding"], "chunked")
        self.assertEqual(body, pattern_bytes(0, 2 * MiB + 5))

    def test_a_client_that_does_not_read_holds_the_upstream_back(self):
        size = 256 * MiB
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((HOST, self.port))
        try:
            sock.sendall(f"GET /api/download?size={size} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(1.5)  # read nothing: sluice must stop reading the upstream
            held = self.up.download_sent
            # Socket buffers on each hop plus sluice's own bounded queue: far below the body.
            self.assertLess(held, 48 * MiB, "the upstream was not held back")
            # Now read it all and check every byte.
            sock.settimeout(20)
            digest, total, head = hashlib.sha256(), 0, b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(65536)
            head, _, rest = head.partition(b"\r\n\r\n")
            self.assertIn(b"200 OK", head.split(b"\r\n")[0])
            digest.update(rest)
            total = len(rest)
            while total < size:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                total += len(chunk)
            self.assertEqual(total, size)
            expect = hashlib.sha256()
            for off in range(0, size, 1 << 20):
                expect.update(pattern_bytes(off, min(1 << 20, size - off)))
            self.assertEqual(digest.hexdigest(), expect.hexdigest())
        finally:
            sock.close()

    def upload(self, path, size, chunked, watch=None):
        """Sends `size` pattern bytes from a thread; returns (status, body, sent_at_watch)."""
        sock = socket.create_connection((HOST, self.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sent = [0]

        def writer():
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\n"
            head += ("Transfer-Encoding: chunked\r\n\r\n" if chunked
                     else f"Content-Length: {size}\r\n\r\n")
            sock.sendall(head.encode())
            off = 0
            while off < size:
                piece = pattern_bytes(off, min(256 * 1024, size - off))
                if chunked:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    sock.sendall(piece)
                off += len(piece)
                sent[0] = off
            if chunked:
                sock.sendall(b"0\r\n\r\n")

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        at_watch = None
        if watch:
            time.sleep(watch)
            at_watch = sent[0]
        t.join(60)
        conn = Conn.__new__(Conn)  # a Conn around the socket the writer used
        conn.sock, conn.buf, conn.eof = sock, bytearray(), False
        conn.timeout, conn.port = 30, self.port
        try:
            status, _, body = conn.read_response("POST")
        finally:
            sock.close()
        return status, body, at_watch

    def expected_sha(self, size):
        h = hashlib.sha256()
        for off in range(0, size, 1 << 20):
            h.update(pattern_bytes(off, min(1 << 20, size - off)))
        return h.hexdigest()

    def test_upload_streams_to_an_upstream_that_waits(self):
        size = 128 * MiB
        # The upstream reads nothing for 2 s; meanwhile the client must be held back.
        status, body, sent = self.upload("/api/upload?pause=2", size, chunked=False, watch=1.5)
        self.assertEqual(status, 200, body)
        self.assertLess(sent, 48 * MiB, "the client was not held back")
        answer = json.loads(body)
        self.assertEqual(answer["bytes"], size)
        self.assertEqual(answer["sha256"], self.expected_sha(size))

    def test_chunked_upload_arrives_whole(self):
        size = 8 * MiB + 3
        status, body, _ = self.upload("/api/upload", size, chunked=True)
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertEqual(answer["bytes"], size)
        self.assertEqual(answer["sha256"], self.expected_sha(size))
        self.assertEqual(self.up.last()["headers"].get("transfer-encoding"), "chunked")

    def test_a_client_that_never_reads_is_dropped(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((HOST, self.port))
        try:
            sock.sendall(f"GET /api/download?size={512 * MiB} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            self.gw.wait_log(lambda l: l.get("msg") == "client stopped reading a proxied response",
                             timeout=15)
        finally:
            sock.close()


if __name__ == "__main__":
    unittest.main()
