"""The forward_auth plugin through the real binary, with a real auth service (a Python
HTTP server on loopback): a 2xx lets the request through (proxy: copy_headers reach the
upstream in place of forged copies; sse: the stream opens and delivers; poll), 401 and
403 are passed back with the service's challenge and body, another status (a 302 to a
login page) too, the service down is 502 and too slow is 504, a request body waits for
the check and then reaches the upstream whole, the cache answers a second request with
the same credential, concurrent requests with one credential (on two worker loops) share
one check, a client that leaves while its check is in flight, the decisions metric and
the log without the credential, publish.plugins with forward_auth instead of the token,
and --check errors."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import (HOST, Gateway, GatewayTestCase, SseClient, http_request, make_config,
                     metric_sum, metrics, publish, sluice_bin, wait_until)
from harness_http import Conn, build_request
from upstreams import UpstreamServer, unused_port


class AuthService:
    """Decides by the Authorization header (or a session cookie):
         Bearer good-<user>   200, X-User-Id: <user>
         Bearer hold-<key>    waits until release(<key>), then 200, X-User-Id: <key>
         Bearer slow          waits 3 s, then 200
         Bearer deny          403 with a JSON body
         Bearer redirect      302 to a login page
         Cookie session=good-<user>   200
         anything else        401 with a challenge and a text body
    and records every request it gets."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.holds = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError):  # sluice gave up on a slow answer
                    self.close_connection = True

            def answer(self, status, headers=None, body=b""):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with service.lock:
                    service.requests.append({"path": self.path,
                                             "headers": {k.lower(): v for k, v in self.headers.items()}})
                auth = self.headers.get("Authorization", "")
                cookie = self.headers.get("Cookie", "")
                if auth.startswith("Bearer good-"):
                    self.answer(204, {"X-User-Id": auth[len("Bearer good-"):], "X-Not-Copied": "1"})
                elif auth.startswith("Bearer hold-"):
                    key = auth[len("Bearer hold-"):]
                    service.hold(key).wait(20)
                    self.answer(200, {"X-User-Id": key})
                elif auth == "Bearer slow":
                    time.sleep(3)
                    self.answer(200, {"X-User-Id": "slow"})
                elif auth == "Bearer deny":
                    self.answer(403, {"Content-Type": "application/json"}, b'{"error":"not yours"}')
                elif auth == "Bearer redirect":
                    self.answer(302, {"Location": "https://login.example/?back=1"})
                elif "session=good-" in cookie:
                    self.answer(200, {"X-User-Id": cookie.split("session=good-", 1)[1].split(";")[0]})
                else:
                    self.answer(401, {"WWW-Authenticate": 'Bearer realm="auth"',
                                      "Content-Type": "text/plain"}, b"log in first")

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.address = f"{HOST}:{self.server.server_address[1]}"

    def hold(self, key):
        with self.lock:
            return self.holds.setdefault(key, threading.Event())

    def release(self, key):
        self.hold(key).set()

    def seen(self, auth):
        with self.lock:
            return [r for r in self.requests if r["headers"].get("authorization") == auth]

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        for event in list(self.holds.values()):
            event.set()
        self.server.shutdown()
        self.server.server_close()


ROUTES = """
- prefix: /app/
  proxy: {upstream: app}
  plugins:
    - forward_auth: {upstream: auth, path: /check, copy_headers: [X-User-Id], timeout: 1s}
- prefix: /cached/
  proxy: {upstream: app}
  plugins:
    - forward_auth: {upstream: auth, path: "/check?cached=1", copy_headers: [X-User-Id], cache: 60s}
- prefix: /down/
  proxy: {upstream: app}
  plugins:
    - forward_auth: {upstream: authdown}
- path: /s/{id}
  sse: {channel: "f:{id}"}
  plugins:
    - forward_auth: {upstream: auth, path: /check}
- path: /poll/{id}
  poll: {channel: "f:{id}"}
  plugins:
    - forward_auth: {upstream: auth, path: /check}
"""


def upstreams(auth, app):
    return (f"upstreams:\n  auth:\n    servers: [{auth.address}]\n"
            f"  authdown:\n    servers: [{HOST}:{unused_port()}]\n"
            f"  app:\n    servers: [{app.address}]\n")


class ForwardAuthTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = AuthService().start()
        cls.app = UpstreamServer("a").start()
        cls.CONFIG = make_config(routes=ROUTES, extra=upstreams(cls.auth, cls.app), workers=2)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.auth.stop()
            cls.app.stop()

    def decisions(self, route, decision):
        return metric_sum(metrics(self.port), "sluice_plugin_decisions_total",
                          plugin="forward_auth", route=route, decision=decision)

    def upstream_headers(self, body, name):
        return [v for n, v in json.loads(body)["headers"] if n.lower() == name.lower()]

    def test_allowed_request_reaches_the_upstream_with_the_copied_header(self):
        status, _, body = http_request(self.port, "GET", "/app/echo?q=1",
                                       {"Authorization": "Bearer good-alice", "X-User-Id": "admin",
                                        "X-Request-Id": "fa-allowed-1"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.upstream_headers(body, "X-User-Id"), ["alice"])  # the forged copy dropped
        self.assertEqual(self.upstream_headers(body, "X-Not-Copied"), [])
        # What the auth service was told about the request.
        check = self.auth.seen("Bearer good-alice")[-1]
        self.assertEqual(check["path"], "/check")
        h = check["headers"]
        self.assertEqual(h["x-forwarded-method"], "GET")
        self.assertEqual(h["x-forwarded-uri"], "/app/echo?q=1")
        self.assertEqual(h["x-forwarded-host"], HOST)
        self.assertEqual(h["x-forwarded-for"], HOST)
        self.assertEqual(h["x-request-id"], "fa-allowed-1")
        self.assertNotIn("x-user-id", h)  # only credentials and the description go

    def test_cookie_credential(self):
        status, _, body = http_request(self.port, "GET", "/app/echo",
                                       {"Cookie": "theme=dark; session=good-carol"})
        self.assertEqual(status, 200)
        self.assertEqual(self.upstream_headers(body, "X-User-Id"), ["carol"])

    def test_401_and_403_are_passed_back(self):
        status, headers, body = http_request(self.port, "GET", "/app/echo")
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'Bearer realm="auth"')
        self.assertEqual(headers["content-type"], "text/plain")
        self.assertEqual(body, b"log in first")
        status, headers, body = http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer deny"})
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body), {"error": "not yours"})
        with self.app.lock:
            self.assertFalse([r for r in self.app.requests
                              if r["headers"].get("authorization") == "Bearer deny"])

    def test_other_statuses_are_passed_back_too(self):
        status, headers, _ = http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer redirect"})
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"], "https://login.example/?back=1")

    def test_sse_stream_opens_when_allowed(self):
        ch = self.channel_id()
        refused = self.sse(f"/s/{ch}")
        self.assertEqual(refused.status, 401)
        client = self.sse(f"/s/{ch}", {"Authorization": "Bearer good-bob"})
        self.assertEqual(client.status, 200)
        self.assertEqual(publish(self.port, f"f:{ch}", "hello")[0], 200)
        self.assertEqual(client.next_event(timeout=5)["data"], "hello")

    def test_poll_route(self):
        ch = self.channel_id()
        self.assertEqual(publish(self.port, f"f:{ch}", "polled")[0], 200)
        self.assertEqual(http_request(self.port, "GET", f"/poll/{ch}?position=0")[0], 401)
        status, _, body = http_request(self.port, "GET", f"/poll/{ch}?position=0",
                                       {"Authorization": "Bearer good-pat"})
        self.assertEqual(status, 200)
        self.assertIn(b"polled", body)

    def test_auth_service_down_is_502(self):
        status, _, body = http_request(self.port, "GET", "/down/echo", {"Authorization": "Bearer good-x"})
        self.assertEqual(status, 502, body)
        line = self.gw.wait_log(lambda l: l.get("msg") == "request refused by a plugin" and
                                l.get("route") == "/down/*")
        self.assertEqual(line["status"], 502)
        self.assertEqual(line["plugin"], "forward_auth")

    def test_auth_service_too_slow_is_504(self):
        status, _, body = http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer slow"},
                                       timeout=10)
        self.assertEqual(status, 504, body)

    def test_request_body_waits_for_the_check(self):
        data = os.urandom(300 * 1024)  # more than sluice holds before it stops reading
        status, _, body = http_request(self.port, "POST", "/app/upload",
                                       {"Authorization": "Bearer good-poster"}, data, timeout=15)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    def test_cache_answers_the_same_credential(self):
        for _ in range(2):
            status, _, body = http_request(self.port, "GET", "/cached/echo",
                                           {"Authorization": "Bearer good-cached"})
            self.assertEqual(status, 200)
            self.assertEqual(self.upstream_headers(body, "X-User-Id"), ["cached"])
        self.assertEqual(len(self.auth.seen("Bearer good-cached")), 1)
        # Another credential is checked on its own.
        self.assertEqual(http_request(self.port, "GET", "/cached/echo",
                                      {"Authorization": "Bearer good-other"})[0], 200)
        self.assertEqual(len(self.auth.seen("Bearer good-other")), 1)

    def test_concurrent_requests_with_one_credential_share_one_check(self):
        n = 8
        results = [None] * n

        def one(i):
            results[i] = http_request(self.port, "GET", "/cached/echo",
                                      {"Authorization": "Bearer hold-shared"}, timeout=15)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        wait_until(lambda: self.auth.seen("Bearer hold-shared"), what="the first check")
        # Every client connected (and so, on loopback, its request sent) while the check is held.
        wait_until(lambda: metric_sum(metrics(self.port), "sluice_connections_open") >= n + 1,
                   what="all clients connected")
        time.sleep(0.3)
        self.auth.release("shared")
        for t in threads:
            t.join(20)
        for status, _, body in results:
            self.assertEqual(status, 200)
            self.assertEqual(self.upstream_headers(body, "X-User-Id"), ["shared"])
        self.assertEqual(len(self.auth.seen("Bearer hold-shared")), 1)

    def test_client_leaving_during_the_check(self):
        conn = Conn(self.port, 5)
        conn.send(build_request("GET", "/app/echo", {"Authorization": "Bearer hold-gone"}))
        wait_until(lambda: self.auth.seen("Bearer hold-gone"), what="the check")
        conn.close()
        time.sleep(0.2)
        self.auth.release("gone")
        # sluice carries on: the same credential and others are answered.
        status, _, _ = http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer hold-gone"})
        self.assertEqual(status, 200)
        self.assertEqual(http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer good-z"})[0], 200)
        self.assertTrue(self.gw.running())

    def test_decisions_are_counted_and_logged_without_the_credential(self):
        route = "/app/*"
        before = {d: self.decisions(route, d) for d in ("allow", "unauthenticated", "forbidden", "denied", "error")}
        http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer good-m"})
        http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer not-a-good-token-xyz"})
        http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer deny"})
        http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer redirect"})
        http_request(self.port, "GET", "/app/echo", {"Authorization": "Bearer slow"}, timeout=10)
        for d in before:
            self.assertEqual(self.decisions(route, d), before[d] + 1, d)
        self.gw.wait_log(lambda l: l.get("msg") == "request refused by a plugin" and
                         l.get("plugin") == "forward_auth" and l.get("status") == 401)
        self.assertNotIn("not-a-good-token-xyz", self.gw.error_log())


def publish_config(auth):
    text = make_config(routes='- path: /s/{id}\n  sse: {channel: "c:{id}"}\n',
                       extra=f"upstreams:\n  auth:\n    servers: [{auth.address}]\n")
    head, _, rest = text.partition("publish:\n")
    _, _, rest = rest.partition("\n")  # drop the token line
    return (head + "publish:\n  plugins:\n    - forward_auth: {upstream: auth, path: /check}\n" + rest)


class PublishWithForwardAuthTest(unittest.TestCase):
    def test_publish_checked_by_the_auth_service(self):
        auth = AuthService().start()
        self.addCleanup(auth.stop)
        with Gateway(publish_config(auth)) as gw:
            client = SseClient(gw.port, "/s/jobs")
            try:
                self.assertEqual(publish(gw.port, "c:jobs", "x", token=None)[0], 401)
                self.assertEqual(publish(gw.port, "c:jobs", "x", token="deny")[0], 403)
                status, _, body = publish(gw.port, "c:jobs", "hello", token="good-worker")
                self.assertEqual(status, 200, body)
                self.assertEqual(client.next_event(timeout=5)["data"], "hello")
            finally:
                client.close()
            check = auth.seen("Bearer good-worker")[-1]["headers"]
            self.assertEqual(check["x-forwarded-method"], "POST")
            self.assertEqual(check["x-forwarded-uri"], "/_sluice/publish/c:jobs")


class CheckTest(unittest.TestCase):
    def run_check(self, text):
        d = tempfile.mkdtemp(prefix="sluice-fa-check-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@PORT@", "0"))
        return subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True, text=True,
                              timeout=30), path

    def config(self, options):
        return make_config(routes=("- prefix: /api/\n  proxy: {upstream: app}\n  plugins:\n"
                                   f"    - forward_auth: {options}\n"),
                           extra="upstreams:\n  app:\n    servers: [127.0.0.1:9]\n")

    def test_errors_name_the_option(self):
        r, path = self.run_check(self.config("{upstream: auth}"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"(?m)^{path}:\d+:\d+: routes\[0\]\.plugins\[0\]\.forward_auth\.upstream: "
                                   r"no upstream named 'auth' in upstreams \(known: app\)$")
        r, path = self.run_check(self.config("{upstream: app, cache: soon, copy_headers: [\"a b\"]}"))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"(?m)^{path}:\d+:\d+: routes\[0\]\.plugins\[0\]\.forward_auth\.cache: ")
        self.assertRegex(r.stderr, rf"(?m)^{path}:\d+:\d+: routes\[0\]\.plugins\[0\]\.forward_auth"
                                   r"\.copy_headers\[0\]: 'a b' is not a header name$")
        r, _ = self.run_check(self.config("{upstream: app, path: /check, cache: 30s}"))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
