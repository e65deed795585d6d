"""Small HTTP upstream servers for the proxy integration tests, on loopback with a free
port, Python standard library only. One server class answers by path, so a test can ask
for the behaviour it needs:

Behaviours are named by the first path segment that is one of these names, wherever it
stands ("/api/echo/1" is /echo):

  /echo...              JSON describing the request (method, path, headers, body)
  /slow?delay=S         waits S seconds, then answers like /echo
  /slowbody?delay=S     sends the head and half a body, waits S seconds, sends the rest
  /reset                reads the request, then resets the connection (RST)
  /close                reads the request, then closes without answering
  /garbage              answers bytes that are not HTTP
  /sse?n=N&interval=S&hold=S&chunked=0|1&crlf=0|1&partial=0|1
                        text/event-stream: N events S apart, then silence for `hold`
                        (with partial=1 the silence falls inside one more event)
  /download?size=N&chunked=0|1
                        N bytes of a fixed pattern (pattern_bytes)
  /upload?delay=S&pause=S
                        waits `pause` seconds before reading, then reads the body slowly
                        (S seconds per 64 KiB); answers its length and SHA-256
  /status/CODE          an empty answer with that status
  /health               200, or 503 while server.healthy is False

With ssl_context (an ssl.SSLContext for a server), the server speaks TLS: each
connection's handshake runs in its own thread, and the SNI name each connection sent is
recorded (server.sni_names); a failed handshake is counted (server.tls_failures).

Every server counts the TCP connections it accepted and records each request it saw
(server.requests), so tests can check keep-alive reuse and what the proxy forwarded.

ScriptedServer answers with raw bytes a test writes itself, for the responses no HTTP
library sends (a 304 with a Content-Length, a chunk size past 64 bits, a body cut short),
and records for each connection whether the proxy closed it."""

import hashlib
import json
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern_bytes(offset, n):
    """Bytes [offset, offset + n) of the endless download pattern."""
    out = bytearray()
    while n > 0:
        start = offset % len(PATTERN)
        take = min(n, len(PATTERN) - start)
        out += PATTERN[start:start + take]
        offset += take
        n -= take
    return bytes(out)


def unused_port():
    """A loopback port with nothing listening (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


KNOWN = ("echo", "slow", "slowbody", "reset", "close", "garbage", "sse", "download", "upload",
         "status", "health")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and body go out as separate writes

    def log_message(self, fmt, *args):  # quiet: tests print what they need
        pass

    # --- request body --------------------------------------------------------------

    def read_body_chunks(self):
        """Yields the request body in pieces (Content-Length or chunked)."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(left, 65536))
                    if not piece:
                        return
                    left -= len(piece)
                    yield piece
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                piece = self.rfile.read(min(left, 65536))
                if not piece:
                    return
                left -= len(piece)
                yield piece

    def read_body(self):
        return b"".join(self.read_body_chunks())

    # --- answers -------------------------------------------------------------------

    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def describe(self, body):
        return {
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
            "connection": self.server.connection_id(self.connection),
        }

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, OSError, ValueError):
            self.close_connection = True

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        # The behaviour is named by the first known segment, so a route prefix in front
        # ("/api/echo/1") does not matter.
        segments = [s for s in url.path.split("/") if s]
        at = next((i for i, s in enumerate(segments) if s in KNOWN), None)
        path = "/" + "/".join(segments[at:]) if at is not None else url.path
        server = self.server
        if path == "/upload":
            time.sleep(float(query.get("pause", "0")))
            delay = float(query.get("delay", "0"))
            digest, total = hashlib.sha256(), 0
            for piece in self.read_body_chunks():
                digest.update(piece)
                total += len(piece)
                if delay:
                    time.sleep(delay * len(piece) / 65536)
            server.record(self, b"")
            self.send_json(200, {"bytes": total, "sha256": digest.hexdigest()})
            return
        body = self.read_body()
        server.record(self, body)
        if path.startswith("/echo"):
            self.send_json(200, self.describe(body), {"X-Upstream": server.label})
        elif path == "/slow":
            time.sleep(float(query.get("delay", "2")))
            self.send_json(200, self.describe(body), {"X-Upstream": server.label})
        elif path == "/slowbody":
            data = b"x" * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:50])
            self.wfile.flush()
            time.sleep(float(query.get("delay", "2")))
            self.wfile.write(data[50:])
        elif path == "/reset":
            self.reset()
        elif path == "/close":
            self.connection.close()
            self.close_connection = True
        elif path == "/garbage":
            self.wfile.write(b"this is not http\r\n\r\n")
            self.close_connection = True
        elif path == "/sse":
            self.serve_sse(query)
        elif path == "/download":
            self.serve_download(query)
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self.send_response(code)
            if code not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/health":
            self.send_json(200 if server.healthy else 503, {"healthy": server.healthy})
        else:
            self.send_json(404, {"error": "no such path"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = dispatch

    def do_HEAD(self):
        self.dispatch()

    def serve_sse(self, q):
        n = int(q.get("n", "3"))
        interval = float(q.get("interval", "0.05"))
        hold = float(q.get("hold", "0"))
        chunked = q.get("chunked", "1") == "1"
        eol = "\r\n" if q.get("crlf") == "1" else "\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

        def write(data):
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self.wfile.flush()

        for i in range(1, n + 1):
            event = f"id: {i}{eol}data: {{\"n\":{i}}}{eol}{eol}".encode()
            write(event)
            time.sleep(interval)
        if q.get("partial") == "1":  # an event cut in two, with the pause inside it
            write(b"data: hel")
            time.sleep(hold)
            write(f"lo{eol}{eol}".encode())
        elif hold:
            time.sleep(hold)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def serve_download(self, q):
        size = int(q.get("size", "1048576"))
        chunked = q.get("chunked", "0") == "1"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        while sent < size:
            piece = pattern_bytes(sent, min(65536, size - sent))
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            sent += len(piece)
            self.server.download_sent = sent
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class UpstreamServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server on a free loopback port. Context manager."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, label="a", port=0, ssl_context=None):
        # port: a fixed one to start a server again where a stopped one was.
        super().__init__((HOST, port), _Handler)
        self.ssl_context = ssl_context
        self.sni_names = []
        self.tls_failures = 0
        if ssl_context is not None:
            def remember_sni(_sock, name, _ctx):
                with self.lock:
                    self.sni_names.append(name)
            ssl_context.sni_callback = remember_sni
        self.label = label
        self.port = self.server_address[1]
        self.address = f"{HOST}:{self.port}"
        self.healthy = True
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.download_sent = 0  # body bytes the last /download has written so far
        self._ids = {}
        self._thread = None

    def handle_error(self, request, client_address):
        pass  # resets and closes are on purpose

    def process_request(self, request, client_address):
        with self.lock:
            self.connections += 1
            self._ids[id(request)] = self.connections
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                wrapped = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                with self.lock:
                    self.tls_failures += 1
                return
            with self.lock:
                self._ids[id(wrapped)] = self._ids.get(id(request), 0)
            try:
                super().finish_request(wrapped, client_address)
            finally:
                self.shutdown_request(wrapped)  # the plain socket it came from is detached
            return
        super().finish_request(request, client_address)

    def connection_id(self, sock):
        with self.lock:
            return self._ids.get(id(sock), 0)

    def record(self, handler, body):
        with self.lock:
            self.requests.append({"method": handler.command, "path": handler.path,
                                  "headers": {k.lower(): v for k, v in handler.headers.items()},
                                  "body": body,
                                  "connection": self._ids.get(id(handler.connection), 0)})

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class AcceptLoopServer:
    """A bare listening socket whose thread accepts connections, counts them and hands each
    to handle(conn), then closes it. Context manager. For servers that misbehave on purpose."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.address = f"{HOST}:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def handle(self, conn):
        raise NotImplementedError

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            try:
                self.handle(conn)
            except OSError:
                pass
            conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        return False


class ResettingServer(AcceptLoopServer):
    """Accepts connections and resets each one as soon as a request byte arrives (or at
    once with immediate=True). Context manager; counts connections."""

    def __init__(self, immediate=False):
        super().__init__()
        self.immediate = immediate

    def handle(self, conn):
        if not self.immediate:
            conn.settimeout(2)
            conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


CLOSE = "close"  # ScriptedServer step: close the connection
HOLD = "hold"    # ScriptedServer step: answer nothing more, read until the proxy closes


class ScriptedConnection:
    """What a ScriptedServer saw on one connection: the request paths, and whether the
    proxy closed it (closed_by_peer is set when a read returns EOF or a reset)."""

    def __init__(self, number):
        self.number = number
        self.paths = []
        self.closed_by_peer = threading.Event()


class ScriptedServer:
    """A raw-socket upstream. `scripts` maps a request path to a list of steps run after
    the request was read: bytes are sent, a float sleeps that many seconds, CLOSE closes
    the connection, HOLD keeps it open and reads until the proxy closes it. With no CLOSE
    or HOLD the connection waits for its next request (keep-alive). With read_body=False
    the steps run as soon as the request head is in (the body is left unread). A path
    without a script gets a plain 200 "ok". Context manager; every socket wait is bounded
    (10 s), so a test that goes wrong cannot hang here."""

    def __init__(self, scripts, read_body=True):
        self.scripts = scripts
        self.read_body = read_body
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.address = f"{HOST}:{self.port}"
        self.lock = threading.Lock()
        self.connections = []  # ScriptedConnection, in accept order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def paths(self):
        with self.lock:
            return [p for c in self.connections for p in c.paths]

    def connection_count(self):
        with self.lock:
            return len(self.connections)

    def connection_for(self, path):
        """The first connection that carried a request for `path`, or None."""
        with self.lock:
            return next((c for c in self.connections if path in c.paths), None)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                record = ScriptedConnection(len(self.connections) + 1)
                self.connections.append(record)
            threading.Thread(target=self._serve, args=(conn, record), daemon=True).start()

    def _serve(self, conn, record):
        conn.settimeout(10)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        try:
            while not self._stop.is_set():
                head = self._read_until(conn, buf, b"\r\n\r\n")
                if head is None:
                    record.closed_by_peer.set()
                    return
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                with self.lock:
                    record.paths.append(path)
                if self.read_body and not self._read_request_body(conn, buf, headers):
                    record.closed_by_peer.set()
                    return
                steps = self.scripts.get(path, [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
                for step in steps:
                    if step == CLOSE:
                        return
                    if step == HOLD:
                        while conn.recv(65536):
                            pass
                        record.closed_by_peer.set()
                        return
                    if isinstance(step, float):
                        time.sleep(step)
                    else:
                        conn.sendall(step)
        except (socket.timeout, ConnectionError, OSError):
            record.closed_by_peer.set()
        finally:
            conn.close()

    @staticmethod
    def _read_until(conn, buf, marker):
        """The bytes up to and including `marker` (taken from buf), or None on EOF."""
        while marker not in buf:
            piece = conn.recv(65536)
            if not piece:
                return None
            buf += piece
        end = buf.index(marker) + len(marker)
        out = bytes(buf[:end])
        del buf[:end]
        return out

    def _read_request_body(self, conn, buf, headers):
        """Reads the body the proxy frames (Content-Length, or its chunks up to the last
        one); False on EOF first."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_until(conn, buf, b"0\r\n\r\n") is not None
        left = int(headers.get("content-length") or 0)
        while len(buf) < left:
            piece = conn.recv(65536)
            if not piece:
                return False
            buf += piece
        del buf[:left]
        return True

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        return False
