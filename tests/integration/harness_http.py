"""Raw-socket HTTP/1.1 client helpers for the sluice integration tests: requests on
fresh or kept-alive connections, malformed input, publishing, and metrics scraping.
Standard library only; every read is bounded by a socket timeout."""

import json
import re
import socket
import time

HOST = "127.0.0.1"
TOKEN = "integration-token"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Conn:
    """One client TCP connection with its own read buffer: several requests on it
    (keep-alive, pipelining) and response parsing (Content-Length, chunked, or close)."""

    def __init__(self, port, timeout=5.0, rcvbuf=None):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so the advertised window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.timeout = timeout
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((HOST, port))
        except OSError:
            self.sock.close()
            raise
        self.buf = bytearray()
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def fill(self, timeout=None):
        """Reads once; False on EOF or reset. Raises TimeoutError when nothing arrives."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout if timeout is None else max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self):
        while b"\r\n" not in self.buf:
            if not self.fill():
                raise ConnectionError("connection closed inside a response")
        i = self.buf.index(b"\r\n")
        return self.take(i + 2)[:-2]

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                raise ConnectionError(f"connection closed before a response head: {self.buf!r}")
        head = self.take(self.buf.index(b"\r\n\r\n") + 4).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise AssertionError(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return int(parts[1]), headers

    def read_body(self, status, headers, method="GET"):
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    while self.read_line():
                        pass
                    return bytes(body)
                while len(self.buf) < size + 2:
                    if not self.fill():
                        raise ConnectionError("connection closed inside a chunk")
                body += self.take(size + 2)[:-2]
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                if not self.fill():
                    raise ConnectionError("connection closed before Content-Length bytes")
            return self.take(n)
        while self.fill():
            pass
        return self.take(len(self.buf))

    def read_response(self, method="GET"):
        status, headers = self.read_head()
        return status, headers, self.read_body(status, headers, method)

    def request(self, method, path, headers=None, body=None):
        self.send(build_request(method, path, headers, body))
        return self.read_response(method)

    def wait_closed(self, timeout=5.0):
        """True if the peer closes within timeout (bytes that arrive meanwhile are kept)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.fill(left)
            except (TimeoutError, socket.timeout):
                return False
        return True

    def close(self):
        self.sock.close()


def build_request(method, path, headers=None, body=None):
    headers = dict(headers or {})
    if not any(k.lower() == "host" for k in headers):
        headers = {"Host": HOST, **headers}
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not any(k.lower() == "content-length" for k in headers):
        headers["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + (body or b"")


def http_request(port, method, path, headers=None, body=None, timeout=5.0):
    """One request on a fresh connection: (status, lowercase headers, body bytes)."""
    headers = dict(headers or {})
    headers.setdefault("Connection", "close")
    conn = Conn(port, timeout)
    try:
        return conn.request(method, path, headers, body)
    finally:
        conn.close()


def get_json(port, path, headers=None, timeout=5.0):
    status, hdrs, body = http_request(port, "GET", path, headers, timeout=timeout)
    return status, hdrs, (json.loads(body) if body else None)


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes and reads until the server closes: (bytes, closed_by_server)."""
    conn = Conn(port, timeout)
    try:
        conn.send(data)
        closed = conn.wait_closed(timeout)
        return bytes(conn.buf), closed
    finally:
        conn.close()


def parse_response(raw):
    """(status, headers, body) of the first response in raw bytes."""
    conn = Conn.__new__(Conn)
    conn.buf, conn.eof, conn.sock = bytearray(raw), True, None
    status, headers = conn.read_head()
    return status, headers, conn.read_body(status, headers)


def publish(port, channel, payload, token=TOKEN, event=None, headers=None, conn=None):
    """POST to the publish endpoint: (status, headers, body). `channel` goes in raw."""
    hdrs = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if event is not None:
        hdrs["Event"] = event
    hdrs.update(headers or {})
    path = f"/_sluice/publish/{channel}"
    if conn is not None:
        return conn.request("POST", path, hdrs, payload)
    return http_request(port, "POST", path, hdrs, payload)


def publish_position(port, channel, payload, event=None, conn=None):
    status, _, body = publish(port, channel, payload, event=event, conn=conn)
    if status != 200:
        raise AssertionError(f"publish to {channel} answered {status}: {body!r}")
    return json.loads(body)["position"]


def publish_many(port, channel, payloads, event=None):
    """Publishes over one keep-alive connection; returns the positions."""
    conn = Conn(port)
    try:
        return [publish_position(port, channel, p, event=event, conn=conn) for p in payloads]
    finally:
        conn.close()


_SERIES = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\S+)?$")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics(port):
    """GET /_sluice/metrics as {series text (name plus labels): value}."""
    status, _, body = http_request(port, "GET", "/_sluice/metrics")
    if status != 200:
        raise AssertionError(f"/_sluice/metrics answered {status}")
    out = {}
    for line in body.decode().splitlines():
        m = _SERIES.match(line.strip())
        if m and not line.startswith("#"):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def metric_series(m, name):
    """[(labels dict, value)] for every series of one metric name."""
    found = []
    for key, value in m.items():
        base, _, labels = key.partition("{")
        if base == name:
            found.append((dict(_LABEL.findall(labels)), value))
    return found


def metric_sum(m, name, **labels):
    """Sum of the series of `name` whose labels include `labels` (0 if none)."""
    return sum(v for lbl, v in metric_series(m, name)
               if all(lbl.get(k) == str(want) for k, want in labels.items()))
