#!/usr/bin/env python3
"""The demo app service behind sluice's /api/ proxy route (standard library only).

POST /api/analysis/start answers {"sessionId": "<id>"} at once, then a background
thread "thinks" and publishes a fake AI answer token by token to the channel
analysis:<id> through sluice's HTTP publish endpoint, as {"type":"chunk","text":...}
events, and ends with {"type":"done"}. The browser reads them from sluice, not from here.

  python3 deploy/demo/app.py [--listen 127.0.0.1:3001] [--sluice http://127.0.0.1:8080]
                             [--token dev-token] [--delay-ms 60]
"""
import argparse
import json
import random
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = (
    "Here is a short analysis of your data. Revenue grew 12% quarter over quarter, "
    "driven mostly by the new subscription tier, while churn stayed flat at 3.1%. "
    "Support tickets fell after the onboarding redesign, which suggests the changes "
    "worked. Watch the rising cost of cloud storage: it is now the fastest-growing line "
    "item. Next step: compare cohorts that joined before and after the redesign. "
    "(Every word you see was published by the demo app to sluice, one token at a time, "
    "and delivered to your browser over Server-Sent Events.)"
)


def tokens(text):
    """Splits text into word-sized tokens that keep their leading space, like an LLM's."""
    return re.findall(r"\s*\S+", text)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def log(msg, **fields):
    print(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "app": "demo", "msg": msg,
                      **fields}), file=sys.stderr, flush=True)


class Publisher:
    """POSTs payloads to sluice's publish endpoint; answers the assigned position."""

    def __init__(self, base_url, token):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def publish(self, channel, payload):
        req = urllib.request.Request(
            f"{self.base_url}/_sluice/publish/{channel}", data=payload.encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as res:
            return json.loads(res.read())["position"]


def stream_answer(publisher, session_id, prompt, delay_s):
    channel = f"analysis:{session_id}"
    text = ANSWER if not prompt else f"You asked: \u201c{prompt}\u201d. {ANSWER}"
    try:
        for token in tokens(text):
            publisher.publish(channel, compact({"type": "chunk", "text": token}))
            # Jitter makes the stream look like a model producing tokens.
            time.sleep(delay_s * random.uniform(0.5, 1.5))
        publisher.publish(channel, compact({"type": "done"}))
        log("analysis done", session=session_id)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
        log("publishing failed", session=session_id, error=str(err))
        try:
            publisher.publish(channel, compact({"type": "error", "message": str(err)}))
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass


def make_handler(publisher, delay_s):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as sluice's upstream pool expects

        def log_message(self, fmt, *args):  # one JSON line per request instead
            log("request", line=fmt % args)

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def do_POST(self):
            body = self.read_body()
            if self.path.split("?")[0] != "/api/analysis/start":
                return self.send_json(404, {"error": "not found", "status": 404})
            prompt = ""
            if body:
                try:
                    prompt = str(json.loads(body).get("prompt", ""))[:200]
                except (ValueError, AttributeError):
                    return self.send_json(400, {"error": "body must be a JSON object",
                                                "status": 400})
            session_id = secrets.token_hex(6)
            threading.Thread(target=stream_answer, daemon=True,
                             args=(publisher, session_id, prompt, delay_s)).start()
            log("analysis started", session=session_id)
            self.send_json(200, {"sessionId": session_id})

        def do_GET(self):
            if self.path == "/api/health":
                return self.send_json(200, {"status": "ok"})
            self.send_json(404, {"error": "not found", "status": 404})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:3001", help="host:port to serve on")
    parser.add_argument("--sluice", default="http://127.0.0.1:8080",
                        help="base URL of sluice, for its publish endpoint")
    parser.add_argument("--token", default="dev-token", help="sluice publish token")
    parser.add_argument("--delay-ms", type=float, default=60, help="mean delay per token")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), make_handler(
        Publisher(args.sluice, args.token), args.delay_ms / 1000))
    server.daemon_threads = True
    log("listening", address=f"{host}:{server.server_address[1]}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
