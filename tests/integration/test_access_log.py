"""The access log and the error log as operators read them (issue 14): every line is one
valid UTF-8 JSON object whatever the client sent (invalid UTF-8, control bytes, quotes,
backslashes), credential-like query parameters and Authorization/Cookie values never
reach a log, and the request id in the access log is the X-Request-Id the client and the
upstream saw, on sluice's own 502/504 answers too. SIGUSR1 reopens the access log."""

import json
import os
import re
import signal
import unittest

from harness import (Conn, Gateway, http_request, make_config, publish_many, raw_exchange,
                     wait_until)
from upstreams import UpstreamServer, unused_port

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- prefix: /api/
  proxy:
    upstream: app
"""


def reject_constant(name):
    raise ValueError(f"not JSON: {name}")


def unique_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys: {keys}")
    return dict(pairs)


def strict_lines(path):
    """Every line of a log file as a JSON object, parsed strictly: the bytes must be UTF-8,
    no NaN/Infinity, no duplicate keys, one object per line."""
    with open(path, "rb") as f:
        raw = f.read()
    out = []
    for n, line in enumerate(raw.split(b"\n")[:-1], 1):
        text = line.decode("utf-8")  # strict: raises on invalid UTF-8
        obj = json.loads(text, parse_constant=reject_constant, object_pairs_hook=unique_keys)
        if not isinstance(obj, dict):
            raise AssertionError(f"line {n} is not an object: {text!r}")
        out.append(obj)
    if raw and not raw.endswith(b"\n"):
        raise AssertionError("the last line is not terminated")
    return out


def proxy_config(servers, upstream_extra=""):
    extra = "upstreams:\n  app:\n    servers: [" + ", ".join(servers) + "]\n" + upstream_extra
    return make_config(routes=ROUTES, extra=extra)


class LogCase(unittest.TestCase):
    def gateway(self, cfg):
        gw = Gateway(cfg).start()
        self.addCleanup(gw.cleanup)
        self.addCleanup(gw.stop)
        return gw

    def stopped_logs(self, gw):
        """(access lines, error lines) after a clean stop: every line written."""
        gw.stop()
        return strict_lines(gw.access_path), strict_lines(gw.error_path)


class HostileInputTest(LogCase):
    # Paths and header values with bytes that are not UTF-8, control bytes, quotes and
    # backslashes; sent raw (latin-1 maps each character to one byte).
    HOSTILE = [
        "/a\xff\xfe\xc0\xaf",
        "/s/\xed\xa0\x80x",
        '/q"uo"te\\back\\slash',
        "/%ff%00%0a%22",
        "/api/%ff%22%5c%00?token=%ff",
        "/s/ok?\x7f=1&a=\"\\",
        "/ctl\x01\x1f",
        "/tab\there",
        "/valid/%ff%22",
    ]

    def test_every_line_is_valid_json_for_hostile_requests(self):
        gw = self.gateway(proxy_config([f"127.0.0.1:{unused_port()}"], "    max_fails: 0\n"))
        sent = []
        for i, path in enumerate(self.HOSTILE):
            # Quotes and backslashes are visible ASCII: a usable id that must be escaped.
            rid = f'hostile-{i}"\\' if i == 4 else f"hostile-{i}"
            ua = "agent \xff\"\\/" + str(i)
            data = (f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {rid}\r\n"
                    f"User-Agent: {ua}\r\nConnection: close\r\n\r\n").encode("latin-1")
            raw, _ = raw_exchange(gw.port, data)
            self.assertRegex(raw, rb"^HTTP/1\.1 \d{3} ", path)
            sent.append(rid)
        # An unusable X-Request-Id (not visible ASCII) is replaced, still one valid line.
        raw, _ = raw_exchange(gw.port, b"GET /x HTTP/1.1\r\nHost: x\r\nX-Request-Id: \xff\"\r\n"
                                       b"Connection: close\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 404"), raw)
        access, errors = self.stopped_logs(gw)

        requests = [l for l in access
                    if l.get("type") == "request" and l.get("path") != "/_sluice/health"]
        for rid in sent:
            with self.subTest(request_id=rid):
                mine = [l for l in requests if l["request_id"] == rid]
                # A request the parser refused (control bytes) has no usable head: its
                # line carries a generated id, so at most one line has the client's.
                self.assertLessEqual(len(mine), 1, mine)
        answered = [l for l in requests if l["request_id"].startswith("hostile-")]
        self.assertGreaterEqual(len(answered), 5, requests)
        self.assertEqual(len(requests), len(self.HOSTILE) + 1, requests)
        for line in requests:
            self.assertRegex(line["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertTrue(line["request_id"], line)
            self.assertIsInstance(line["status"], int)
        bad_bytes = next(l for l in requests if l["request_id"] == "hostile-0")
        self.assertEqual(bad_bytes["path"], "/a\ufffd\ufffd\ufffd\ufffd")
        quoted = next(l for l in requests if l["request_id"] == "hostile-2")
        self.assertEqual(quoted["path"], '/q"uo"te\\back\\slash')
        valid_path = next(l for l in requests if l["request_id"] == "hostile-8")
        self.assertEqual((valid_path["status"], valid_path["path"]), (404, "/valid/%ff%22"))
        self.assertEqual(valid_path["user_agent"], 'agent \ufffd"\\/8')
        generated = [l for l in requests if l["path"] == "/x"]
        self.assertEqual(len(generated), 1)
        self.assertRegex(generated[0]["request_id"], r"^[0-9a-f]{32}$")
        # The proxy route's failure went to the error log, path and all, as valid JSON.
        self.assertTrue(any(l.get("msg") == "proxy error" and l.get("request_id") == 'hostile-4"\\'
                            for l in errors), errors)


class RedactionTest(LogCase):
    SECRETS = ["S3cr3tT0ken", "AccessT0k", "JwtV4lue", "AuthV4l", "KeyV4l", "ApiK3y",
               "Passw0rd", "Secr3tV4l", "Bear3rV4l", "C00kieV4l"]

    def test_secrets_never_reach_a_log(self):
        with UpstreamServer() as up:
            gw = self.gateway(proxy_config([up.address]))
            query = ("token=S3cr3tT0ken&access_token=AccessT0k&JWT=JwtV4lue&auth=AuthV4l"
                     "&Key=KeyV4l&api%5Fkey=ApiK3y&password=Passw0rd&SECRET=Secr3tV4l&keep=visible")
            headers = {"Authorization": "Bearer Bear3rV4l", "Cookie": "session=C00kieV4l",
                       "Connection": "close"}
            for path in ("/api/echo?" + query, "/nothing?" + query, "/s/%2A?" + query):
                status = http_request(gw.port, "GET", path, headers=headers)[0]
                self.assertIn(status, (200, 400, 404), path)
            conn = Conn(gw.port)  # a stream: its request line is written at the head
            conn.send(
                f"GET /s/one?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer Bear3rV4l\r\n"
                "Cookie: session=C00kieV4l\r\n\r\n".encode())
            self.assertEqual(conn.read_head()[0], 200)
            conn.close()
            gw.stop()
            with open(gw.access_path, "rb") as f:
                access_raw = f.read()
            with open(gw.error_path, "rb") as f:
                error_raw = f.read()
            access = strict_lines(gw.access_path)
        for secret in self.SECRETS:
            with self.subTest(secret=secret):
                self.assertNotIn(secret.encode(), access_raw)
                self.assertNotIn(secret.encode(), error_raw)
        with_query = [l for l in access if "query" in l]
        self.assertEqual(len(with_query), 4, access)
        for line in with_query:
            self.assertEqual(line["query"],
                             "token=REDACTED&access_token=REDACTED&JWT=REDACTED&auth=REDACTED"
                             "&Key=REDACTED&api%5Fkey=REDACTED&password=REDACTED"
                             "&SECRET=REDACTED&keep=visible")


class RequestIdTest(LogCase):
    def access_line(self, gw, rid):
        return wait_until(lambda: next((l for l in strict_lines(gw.access_path)
                                        if l.get("request_id") == rid), None),
                          what=f"an access log line with request_id {rid}")

    def test_502_carries_the_id_it_was_logged_with(self):
        gw = self.gateway(proxy_config([f"127.0.0.1:{unused_port()}"], "    max_fails: 0\n"))
        status, headers, _ = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 502)
        rid = headers.get("x-request-id")
        self.assertRegex(rid or "", r"^[0-9a-f]{32}$")
        line = self.access_line(gw, rid)
        self.assertEqual((line["status"], line["route"]), (502, "/api/*"))
        self.assertIn("upstream", line)  # the server that failed
        gw.wait_log(lambda l: l.get("msg") == "proxy error" and l.get("request_id") == rid,
                    what="the proxy error line with the same id")
        # The client's own id is kept.
        status, headers, _ = http_request(gw.port, "GET", "/api/echo",
                                          headers={"X-Request-Id": "client-id-1"})
        self.assertEqual((status, headers.get("x-request-id")), (502, "client-id-1"))
        self.assertEqual(self.access_line(gw, "client-id-1")["status"], 502)

    def test_504_carries_the_id_it_was_logged_with(self):
        with UpstreamServer() as up:
            gw = self.gateway(proxy_config([up.address], "    read_timeout: 300ms\n"))
            status, headers, _ = http_request(gw.port, "GET", "/api/slow?delay=2")
            self.assertEqual(status, 504)
            rid = headers.get("x-request-id")
            self.assertTrue(rid)
            line = self.access_line(gw, rid)
            self.assertEqual((line["status"], line["upstream"]), (504, up.address))

    def test_proxied_request_id_is_the_one_the_upstream_saw(self):
        with UpstreamServer() as up:
            gw = self.gateway(proxy_config([up.address]))
            status, headers, body = http_request(gw.port, "GET", "/api/echo",
                                                 headers={"User-Agent": "probe/1"})
            self.assertEqual(status, 200)
            seen = {k.lower(): v for k, v in json.loads(body)["headers"]}
            rid = seen["x-request-id"]
            self.assertEqual(headers.get("x-request-id"), rid)
            line = self.access_line(gw, rid)
            self.assertEqual((line["status"], line["upstream"], line["user_agent"]),
                             (200, up.address, "probe/1"))

    def test_every_request_gets_an_id(self):
        gw = self.gateway(make_config(routes=ROUTES.split("- prefix")[0]))
        publish_many(gw.port, "c:ids", ["x"])
        http_request(gw.port, "GET", "/missing", headers={"X-Request-Id": "mine-42"})
        conn = Conn(gw.port)
        conn.send(b"GET /s/ids HTTP/1.1\r\nHost: x\r\nX-Request-Id: stream-7\r\n\r\n")
        self.assertEqual(conn.read_head()[0], 200)
        conn.close()
        access, _ = self.stopped_logs(gw)
        self.assertTrue(all(re.fullmatch(r"[0-9a-f]{32}|mine-42|stream-7", l["request_id"])
                            for l in access), access)
        self.assertEqual([l["path"] for l in access if l["request_id"] == "mine-42"], ["/missing"])
        streams = [l for l in access if l["type"] == "stream"]
        self.assertEqual([l["request_id"] for l in streams], ["stream-7"])


    def test_a_timeout_after_a_request_has_its_own_id(self):
        gw = self.gateway(make_config(routes=ROUTES.split("- prefix")[0],
                                      limits={"header_timeout": "300ms"}))
        conn = Conn(gw.port)
        self.assertEqual(conn.request("GET", "/first", {"X-Request-Id": "first-1"})[0], 404)
        conn.send(b"GET /second HTTP/1.1\r\nX-Request-Id: second-2\r\n")  # never finished
        self.assertEqual(conn.read_head()[0], 408)
        conn.close()
        access, _ = self.stopped_logs(gw)
        timeouts = [l for l in access if l["status"] == 408]
        self.assertEqual(len(timeouts), 1, access)
        self.assertNotEqual(timeouts[0]["request_id"], "first-1")
        self.assertEqual([l["request_id"] for l in access if l["path"] == "/first"], ["first-1"])


class RotationTest(LogCase):
    def config(self, path):
        return make_config(routes=ROUTES.split("- prefix")[0]).replace(
            "access_log: stdout", f"access_log: {path}")

    def test_sigusr1_reopens_the_access_log(self):
        gw = Gateway(self.config("@DIR@/access-file.log"))
        gw.start()
        self.addCleanup(gw.cleanup)
        path = os.path.join(gw.dir, "access-file.log")
        http_request(gw.port, "GET", "/before-rotation")
        wait_until(lambda: os.path.exists(path) and b"/before-rotation" in open(path, "rb").read(),
                   what="the first line in the access log file")
        os.rename(path, path + ".1")
        http_request(gw.port, "GET", "/between")  # still goes to the renamed file
        gw.send_signal(signal.SIGUSR1)
        gw.wait_log(lambda l: l.get("msg") == "access log reopened", what="the reopen line")
        http_request(gw.port, "GET", "/after-rotation")
        wait_until(lambda: os.path.exists(path) and b"/after-rotation" in open(path, "rb").read(),
                   what="a line in the new access log file")
        self.assertTrue(gw.running(), "SIGUSR1 must not stop sluice")
        gw.stop()
        old = [l["path"] for l in strict_lines(path + ".1") if l["path"] != "/_sluice/health"]
        new = [l["path"] for l in strict_lines(path)]
        self.assertEqual(old, ["/before-rotation", "/between"])
        self.assertEqual(new, ["/after-rotation"])

    def test_reopen_failure_keeps_the_old_file(self):
        gw = Gateway(self.config("@DIR@/logs/access.log"))
        os.mkdir(os.path.join(gw.dir, "logs"))
        gw.start()
        self.addCleanup(gw.cleanup)
        os.rename(os.path.join(gw.dir, "logs"), os.path.join(gw.dir, "moved"))
        gw.send_signal(signal.SIGUSR1)
        gw.wait_log(lambda l: l.get("msg", "").startswith("cannot reopen the access log"),
                    what="the reopen error")
        http_request(gw.port, "GET", "/still-logged")
        moved = os.path.join(gw.dir, "moved", "access.log")
        wait_until(lambda: b"/still-logged" in open(moved, "rb").read(),
                   what="the line in the old file")
        self.assertTrue(gw.running())
        gw.stop()


if __name__ == "__main__":
    unittest.main()
