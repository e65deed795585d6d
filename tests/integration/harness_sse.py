"""Raw-socket SSE client for the sluice integration tests: an incremental event-stream
parser (WHATWG line rules) and a client that exposes each block with its exact lines, so
tests check framing byte for byte. Standard library only; every wait is bounded."""

import collections
import re
import socket
import time

from harness_http import Conn, build_request


_EOL = re.compile(rb"\r\n|\r|\n")


class SseParser:
    """Incremental event-stream parser (WHATWG line rules). Every blank-line-terminated
    block becomes a dict {id, event, data, retry, comments, lines}; data is the data lines
    joined with \\n (None when the block had no data line), one leading space stripped."""

    def __init__(self):
        self.pending = bytearray()
        self.skip_lf = False  # a CR ended the last chunk: a following LF belongs to it
        self.events = collections.deque()
        self._reset()

    def _reset(self):
        self.block = {"id": None, "event": None, "data": None, "retry": None,
                      "comments": [], "lines": []}
        self.data_lines = []

    def feed(self, data):
        if self.skip_lf and data[:1] == b"\n":
            data = data[1:]
        self.skip_lf = False
        buf = self.pending + data
        pos = 0
        for m in _EOL.finditer(buf):
            self._line(bytes(buf[pos:m.start()]).decode("utf-8", "replace"))
            pos = m.end()
        self.skip_lf = pos == len(buf) and buf[-1:] == b"\r"
        self.pending = bytearray(buf[pos:])

    def _line(self, line):
        if line == "":
            if self.block["lines"]:
                if self.data_lines:
                    self.block["data"] = "\n".join(self.data_lines)
                self.events.append(self.block)
            self._reset()
            return
        self.block["lines"].append(line)
        if line.startswith(":"):
            self.block["comments"].append(line[2:] if line.startswith(": ") else line[1:])
            return
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self.data_lines.append(value)
        elif field in ("id", "event"):
            self.block[field] = value
        elif field == "retry" and value.isdigit():
            self.block["retry"] = int(value)


class SseClient:
    """A raw-socket SSE client: sends the GET, reads the response head, then parses the
    body incrementally. Non-200 responses keep their body in .body."""

    def __init__(self, port, path, headers=None, timeout=5.0, rcvbuf=None):
        self.conn = Conn(port, timeout, rcvbuf)
        self.conn.send(build_request("GET", path, headers))
        self.status, self.headers = self.conn.read_head()
        self.body = b""
        self.raw = bytearray()  # every body byte received, for exact framing checks
        self.parser = SseParser()
        if self.status != 200 or "text/event-stream" not in self.headers.get("content-type", ""):
            self.body = self.conn.read_body(self.status, self.headers)
        elif self.conn.buf:
            self._feed(self.conn.take(len(self.conn.buf)))

    def _feed(self, data):
        self.raw += data
        self.parser.feed(data)

    @property
    def closed(self):
        return self.conn.eof

    def _pump(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.conn.eof:
            return False
        try:
            if not self.conn.fill(left):
                return False
        except (TimeoutError, socket.timeout):
            return False
        self._feed(self.conn.take(len(self.conn.buf)))
        return True

    def next_event(self, timeout=5.0, all_blocks=False):
        """The next message (a block with data), or with all_blocks any block (comments,
        retry). None when the timeout passes or the stream is closed first."""
        deadline = time.monotonic() + timeout
        while True:
            while self.parser.events:
                block = self.parser.events.popleft()
                if all_blocks or block["data"] is not None:
                    return block
            if not self._pump(deadline):
                if not self.parser.events:
                    return None

    def read_until(self, predicate, timeout=5.0, all_blocks=False):
        """Blocks up to and including the first matching one; fails on timeout/close."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_event(max(deadline - time.monotonic(), 0), all_blocks)
            if block is None:
                state = "closed" if self.closed else "timed out"
                raise AssertionError(f"stream {state} before the expected event; got {got}")
            got.append(block)
            if predicate(block):
                return got

    def read_events(self, n, timeout=5.0):
        """Exactly n messages (comment-only and retry-only blocks skipped)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            block = self.next_event(max(deadline - time.monotonic(), 0))
            if block is None:
                state = "closed" if self.closed else "timed out"
                raise AssertionError(f"stream {state} after {len(got)} of {n} events: {got}")
            got.append(block)
        return got

    def wait_closed(self, timeout=5.0):
        """True if the server closes within timeout; events that arrive stay queued."""
        deadline = time.monotonic() + timeout
        while not self.conn.eof:
            if not self._pump(deadline) and not self.conn.eof:
                return False
        return True

    def queued(self):
        """Blocks received but not yet returned by next_event (e.g. after wait_closed)."""
        return list(self.parser.events)

    def close(self):
        self.conn.close()


def ids(events):
    return [int(e["id"]) for e in events]
