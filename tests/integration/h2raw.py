"""A small HTTP/2 client that writes frames itself (RFC 9113), for the tests curl and
h2load cannot express: windows that are never opened, resets in a burst, floods of
CONTINUATION, SETTINGS and PING frames. Python's standard library only (Debian has no
python3-h2 package on this machine): frames are packed with struct, request headers are
HPACK literals without indexing (no Huffman), and of the server's HPACK only the
statically indexed :status values are decoded (enough for 200/204/304/400/404/500).
Every read is bounded by a timeout."""

import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 7, 8, 11

SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS, \
    SETTINGS_INITIAL_WINDOW_SIZE = 1, 2, 3, 4

STATIC_STATUS = {0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500}


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    """A header field as a literal without indexing, new name, no Huffman."""
    name, value = name.encode(), value.encode()
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def request_block(path, method="GET", authority="localhost", scheme="http", headers=()):
    block = b"".join(hpack_literal(n, v) for n, v in
                     ((":method", method), (":scheme", scheme), (":path", path),
                      (":authority", authority)))
    return block + b"".join(hpack_literal(n, v) for n, v in headers)


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, stream_id) + payload


def settings_frame(settings=None, ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in (settings or {}).items())
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


class Stream:
    def __init__(self):
        self.status = None
        self.data = bytearray()
        self.ended = False
        self.reset = None  # the RST_STREAM error code


class H2Raw:
    """One HTTP/2 connection. `settings`: the client's SETTINGS; `tls`: an ssl context
    (ALPN h2 is asked for). DATA on a stream in `auto_update` (or any stream, when it is
    True) is acknowledged with WINDOW_UPDATEs for the stream; the connection window is
    acknowledged for all DATA while `conn_update`."""

    def __init__(self, port, settings=None, tls=None, server_hostname="localhost", timeout=5.0):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            sock = tls.wrap_socket(sock, server_hostname=server_hostname)
            if sock.selected_alpn_protocol() != "h2":
                raise AssertionError(f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2")
        self.sock = sock
        self.buf = b""
        self.streams = {}
        self.next_id = 1
        self.goaway = None  # (last stream id, error code)
        self.closed = False
        self.server_settings = {}
        self.pings_acked = 0
        self.auto_update = True
        self.conn_update = True
        self.send(PREFACE + settings_frame(settings))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # --- Requests ----------------------------------------------------------------------
    def request(self, path, method="GET", headers=(), body=None):
        sid = self.next_id
        self.next_id += 2
        self.streams[sid] = Stream()
        flags = END_HEADERS | (END_STREAM if body is None else 0)
        out = frame(HEADERS, flags, sid, request_block(path, method, headers=headers))
        if body is not None:
            out += frame(DATA, END_STREAM, sid, body)
        self.send(out)
        return sid

    def window_update(self, sid, increment):
        self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", increment)))

    def rst(self, sid, code=CANCEL):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    # --- Reading -----------------------------------------------------------------------
    def _read_frame(self, deadline):
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags, sid = struct.unpack(">BBI", self.buf[3:9])
                    payload = self.buf[9:9 + length]
                    self.buf = self.buf[9 + length:]
                    return ftype, flags, sid & 0x7fffffff, payload
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def _handle(self, ftype, flags, sid, payload):
        s = self.streams.get(sid)
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[k] = v
            self.send(settings_frame(ack=True))
        elif ftype == PING and flags & ACK:
            self.pings_acked += 1
        elif ftype == GOAWAY:
            self.goaway = struct.unpack(">II", payload[:8])
            self.goaway = (self.goaway[0] & 0x7fffffff, self.goaway[1])
        elif ftype == HEADERS and s is not None:
            if s.status is None and payload:
                s.status = STATIC_STATUS.get(payload[0], "other")
            if flags & END_STREAM:
                s.ended = True
        elif ftype == DATA and s is not None:
            s.data += payload
            if payload and (self.auto_update is True or sid in (self.auto_update or ())):
                self.window_update(sid, len(payload))
            if flags & END_STREAM:
                s.ended = True
        elif ftype == RST_STREAM and s is not None:
            s.reset = struct.unpack(">I", payload)[0]
        if ftype == DATA and payload and self.conn_update:
            self.window_update(0, len(payload))

    def read_until(self, predicate, timeout=5.0, what="condition"):
        """Processes frames until predicate(self) holds; fails after timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            f = self._read_frame(deadline)
            if f is None:
                if predicate(self):
                    break
                state = "closed" if self.closed else "open"
                raise AssertionError(f"timed out after {timeout}s waiting for {what} (connection {state}, "
                                     f"goaway {self.goaway})")
            self._handle(*f)
        return self

    def read_for(self, seconds):
        """Processes whatever arrives for `seconds` (or until the connection closes)."""
        deadline = time.monotonic() + seconds
        while not self.closed:
            f = self._read_frame(deadline)
            if f is None:
                break
            self._handle(*f)
        return self

    def read_to_close(self, timeout=5.0):
        """Processes frames until the server closes the connection."""
        return self.read_until(lambda c: c.closed, timeout, "the server to close the connection")
