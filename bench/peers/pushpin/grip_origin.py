"""A tiny GRIP origin for Pushpin in bench/compare.sh (Python standard library only).

GET /bench/<c>/stream answers a held event stream on channel bench:<c>: Pushpin keeps the
client connection open and forwards whatever is published to that channel. Publishing goes
straight to Pushpin's HTTP publish endpoint, not through here. The origin keeps no history:
a client that resumes with Last-Event-ID gets only new events (that is Pushpin's model: the
origin decides what a resuming client gets, and this one, like most, has nothing to give).

Usage: grip_origin.py PORT
"""

import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = re.compile(r"^/bench/([A-Za-z0-9_.:-]{1,128})/stream$")
# The first bytes a client gets; like sluice's, they tell EventSource how soon to come back.
PRELUDE = b"retry: 2000\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        m = PATH.match(self.path.split("?", 1)[0])
        if not m:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Grip-Hold", "stream")
        self.send_header("Grip-Channel", "bench:" + m.group(1))
        # Heartbeats every 30s, as the other servers in the comparison send them.
        self.send_header("Grip-Keep-Alive", ": heartbeat\\n\\n; format=cstring; timeout=30")
        self.send_header("Content-Length", str(len(PRELUDE)))
        self.end_headers()
        self.wfile.write(PRELUDE)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096


def main():
    port = int(sys.argv[1])
    Server(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
