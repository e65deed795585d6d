"""The jwt and api_key plugins through the real binary: 401 (with WWW-Authenticate) and
403 on sse and poll routes, a valid token's stream delivering a published event, tokens
from the Authorization header, a cookie and a query parameter, close_on_expiry ending a
stream, claims forwarded to an upstream in place of forged copies, api_key on a proxy
route, the decisions metric, refusals logged without the credential, tokens and keys
redacted in the access log, publishing with a JWT or an API key instead of publish.token,
a keys file read again on SIGHUP (and kept when the new one is missing), and --check on a
keys file that is missing."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from auth_tokens import hs256, in_seconds
from harness import (HOST, Gateway, GatewayTestCase, SseClient, http_request, make_config,
                     metric_sum, metrics, publish, sluice_bin, wait_until)
from upstreams import UpstreamServer

SECRET = "integration-secret-with-32-bytes-and-more"
API_KEY = "k-integration-0f9e8d7c6b5a"
LIMITED_KEY = "k-limited-112233"
os.environ["SLUICE_IT_JWT_SECRET"] = SECRET
os.environ["SLUICE_IT_API_KEY"] = API_KEY

JWT = ('{secret: "${SLUICE_IT_JWT_SECRET}", algorithms: [HS256], channels_claim: channels, '
       'from: [header, "cookie:session", "query:access_token"]}')


def routes(keys_file):
    return f"""
- path: /jwt/{{id}}
  sse: {{channel: "j:{{id}}"}}
  plugins:
    - jwt: {JWT}
- path: /jp/{{id}}
  poll: {{channel: "j:{{id}}"}}
  plugins:
    - jwt: {JWT}
- path: /exp/{{id}}
  sse: {{channel: "x:{{id}}"}}
  plugins:
    - jwt: {{secret: "${{SLUICE_IT_JWT_SECRET}}", algorithms: [HS256], close_on_expiry: true}}
- prefix: /who/
  proxy: {{upstream: app}}
  plugins:
    - jwt: {{secret: "${{SLUICE_IT_JWT_SECRET}}", algorithms: [HS256], forward_claims: {{sub: X-User-Id}}}}
- prefix: /api/
  proxy: {{upstream: app}}
  plugins:
    - api_key: {{keys: ["${{SLUICE_IT_API_KEY}}"], keys_file: {keys_file}, from: [header:X-API-Key, query:api_key]}}
"""


def token(channels=("j:*",), exp=600, **claims):
    return hs256({"exp": in_seconds(exp), "channels": list(channels), **claims}, SECRET)


class AuthPluginsTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = UpstreamServer("a").start()
        cls.dir = tempfile.mkdtemp(prefix="sluice-auth-")
        keys_file = os.path.join(cls.dir, "api-keys")
        with open(keys_file, "w") as f:
            f.write(f"# test keys\n{LIMITED_KEY} j:limited*\n")
        cls.CONFIG = make_config(routes=routes(keys_file),
                                 extra=f"upstreams:\n  app:\n    servers: [{cls.app.address}]\n")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.app.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def decisions(self, plugin, route, decision):
        return metric_sum(metrics(self.port), "sluice_plugin_decisions_total",
                          plugin=plugin, route=route, decision=decision)

    def test_no_token_is_401_with_a_bearer_challenge(self):
        status, headers, body = http_request(self.port, "GET", f"/jwt/{self.channel_id()}")
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'Bearer realm="sluice"')
        self.assertIn(b"missing token", body)

    def test_bad_tokens_are_401_invalid_token(self):
        wrong_key = hs256({"exp": in_seconds(600), "channels": ["j:*"]}, "another-secret-32-bytes-long!!!!")
        expired = token(exp=-60)
        # libjwt 1.10 refuses a typ other than "JWT" (documented).
        other_typ = hs256({"exp": in_seconds(600), "channels": ["j:*"]}, SECRET,
                          header={"alg": "HS256", "typ": "at+jwt"})
        for bad in (wrong_key, expired, other_typ, "garbage"):
            status, headers, body = http_request(self.port, "GET", f"/jwt/{self.channel_id()}",
                                                 {"Authorization": f"Bearer {bad}"})
            self.assertEqual(status, 401, bad)
            self.assertEqual(headers["www-authenticate"], 'Bearer realm="sluice", error="invalid_token"')
        status, _, body = http_request(self.port, "GET", "/jwt/a", {"Authorization": f"Bearer {expired}"})
        self.assertIn(b"token expired", body)

    def test_channel_outside_the_claim_is_403(self):
        t = token(channels=["j:mine"])
        status, headers, _ = http_request(self.port, "GET", "/jwt/other",
                                          {"Authorization": f"Bearer {t}"})
        self.assertEqual(status, 403)
        self.assertEqual(headers["www-authenticate"], 'Bearer realm="sluice", error="insufficient_scope"')
        status, _, _ = http_request(self.port, "GET", "/jp/other", {"Authorization": f"Bearer {t}"})
        self.assertEqual(status, 403)

    def test_valid_token_opens_a_stream_that_delivers_events(self):
        ch = self.channel_id()
        client = self.sse(f"/jwt/{ch}", {"Authorization": f"Bearer {token(channels=['j:' + ch])}"})
        self.assertEqual(client.status, 200)
        self.assertEqual(publish(self.port, f"j:{ch}", '{"n":1}')[0], 200)
        ev = client.next_event(timeout=5)
        self.assertIsNotNone(ev)
        self.assertEqual(ev["data"], '{"n":1}')

    def test_poll_route_with_a_valid_token(self):
        ch = self.channel_id()
        self.assertEqual(publish(self.port, f"j:{ch}", '{"n":2}')[0], 200)
        status, _, body = http_request(self.port, "GET", f"/jp/{ch}?position=0",
                                       {"Authorization": f"Bearer {token()}"})
        self.assertEqual(status, 200)
        self.assertIn(b'{\\"n\\":2}', body)

    def test_token_from_a_cookie(self):
        ch = self.channel_id()
        client = self.sse(f"/jwt/{ch}", {"Cookie": f"theme=dark; session={token()}"})
        self.assertEqual(client.status, 200)
        self.assertEqual(publish(self.port, f"j:{ch}", "cookie")[0], 200)
        self.assertEqual(client.next_event(timeout=5)["data"], "cookie")

    def test_token_from_the_query_is_redacted_in_the_access_log(self):
        ch = self.channel_id()
        t = token()
        client = self.sse(f"/jwt/{ch}?access_token={t}")
        self.assertEqual(client.status, 200)
        self.assertEqual(publish(self.port, f"j:{ch}", "query")[0], 200)
        self.assertEqual(client.next_event(timeout=5)["data"], "query")
        client.close()
        line = wait_until(lambda: next((l for l in self.gw.access_log_lines()
                                        if l.get("path") == f"/jwt/{ch}"), None),
                          what="the stream's access-log line")
        self.assertEqual(line["query"], "access_token=REDACTED")
        self.assertEqual(line["status"], 200)
        with open(self.gw.access_path) as f:
            self.assertNotIn(t, f.read())
        self.assertNotIn(t, self.gw.error_log())

    def test_close_on_expiry_ends_the_stream(self):
        ch = self.channel_id()
        t = hs256({"exp": in_seconds(3)}, SECRET)
        client = self.sse(f"/exp/{ch}", {"Authorization": f"Bearer {t}"})
        self.assertEqual(client.status, 200)
        self.assertEqual(publish(self.port, f"x:{ch}", "before")[0], 200)
        self.assertEqual(client.next_event(timeout=5)["data"], "before")
        # Ends on its own once exp has passed: generous bound, no timing assertion.
        self.assertTrue(client.wait_closed(timeout=30), "the stream outlived its token")
        line = wait_until(lambda: next((l for l in self.gw.access_log_lines()
                                        if l.get("type") == "stream" and l.get("channel") == f"x:{ch}"),
                                       None), what="the stream's end line")
        self.assertEqual(line["reason"], "expired")
        # A fresh token opens it again (what a client does on reconnect).
        again = self.sse(f"/exp/{ch}", {"Authorization": f"Bearer {hs256({'exp': in_seconds(600)}, SECRET)}"})
        self.assertEqual(again.status, 200)

    def test_claims_are_forwarded_and_forged_copies_dropped(self):
        import json
        t = hs256({"exp": in_seconds(600), "sub": "user-42"}, SECRET)
        status, _, body = http_request(self.port, "GET", "/who/echo",
                                       {"Authorization": f"Bearer {t}", "X-User-Id": "admin"})
        self.assertEqual(status, 200)
        seen = [v for n, v in json.loads(body)["headers"] if n.lower() == "x-user-id"]
        self.assertEqual(seen, ["user-42"])
        status, _, _ = http_request(self.port, "GET", "/who/echo", {"X-User-Id": "admin"})
        self.assertEqual(status, 401)

    def test_api_key_on_a_proxy_route(self):
        status, headers, _ = http_request(self.port, "GET", "/api/echo")
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'ApiKey realm="sluice"')
        status, headers, _ = http_request(self.port, "GET", "/api/echo", {"X-API-Key": "k-wrong"})
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'ApiKey realm="sluice", error="invalid_key"')
        for key in (API_KEY, LIMITED_KEY):  # the env key, the file's key (no channel on proxy)
            status, _, _ = http_request(self.port, "GET", "/api/echo", {"X-API-Key": key})
            self.assertEqual(status, 200)
        status, _, _ = http_request(self.port, "GET", f"/api/echo?x=1&api_key={API_KEY}")
        self.assertEqual(status, 200)
        line = wait_until(lambda: next((l for l in self.gw.access_log_lines()
                                        if l.get("path") == "/api/echo" and "x=1" in l.get("query", "")),
                                       None), what="the access-log line")
        self.assertEqual(line["query"], "x=1&api_key=REDACTED")
        with open(self.gw.access_path) as f:
            self.assertNotIn(API_KEY, f.read())

    def test_decisions_are_counted(self):
        route = "/jwt/{id}"
        allow = self.decisions("jwt", route, "allow")
        unauth = self.decisions("jwt", route, "unauthenticated")
        forbidden = self.decisions("jwt", route, "forbidden")
        http_request(self.port, "GET", "/jwt/m1")
        http_request(self.port, "GET", "/jwt/m2", {"Authorization": f"Bearer {token(channels=['j:x'])}"})
        client = self.sse("/jwt/m3", {"Authorization": f"Bearer {token()}"})
        self.assertEqual(client.status, 200)
        self.assertEqual(self.decisions("jwt", route, "allow"), allow + 1)
        self.assertEqual(self.decisions("jwt", route, "unauthenticated"), unauth + 1)
        self.assertEqual(self.decisions("jwt", route, "forbidden"), forbidden + 1)
        # Every configured route's series are there from the start.
        self.assertIn('sluice_plugin_decisions_total{plugin="api_key",route="/api/*",decision="forbidden"}',
                      metrics(self.port))

    def test_refusals_are_logged_without_the_credential(self):
        bad = hs256({"exp": in_seconds(600)}, "not-the-secret-but-32-bytes-long!")
        http_request(self.port, "GET", "/jwt/logged", {"Authorization": f"Bearer {bad}",
                                                       "X-Request-Id": "req-refused-1"})
        line = self.gw.wait_log(lambda l: l.get("msg") == "request refused by a plugin" and
                                l.get("request_id") == "req-refused-1")
        self.assertEqual(line["plugin"], "jwt")
        self.assertEqual(line["route"], "/jwt/{id}")
        self.assertEqual(line["reason"], "bad signature")
        self.assertEqual(line["status"], 401)
        self.assertEqual(line["remote"], HOST)
        self.assertNotIn(bad, self.gw.error_log())
        http_request(self.port, "GET", "/api/echo", {"X-API-Key": "k-wrong-logged"})
        self.gw.wait_log(lambda l: l.get("msg") == "request refused by a plugin" and
                         l.get("plugin") == "api_key" and l.get("reason") == "unknown API key")
        self.assertNotIn("k-wrong-logged", self.gw.error_log())


def publish_config(plugins):
    """A config whose publish endpoint has no token, only `plugins` (a YAML list)."""
    text = make_config(routes='- path: /s/{id}\n  sse: {channel: "c:{id}"}\n')
    head, _, rest = text.partition("publish:\n")
    _, _, rest = rest.partition("\n")  # drop the token line
    return head + "publish:\n  plugins:\n" + plugins + rest


class PublishWithoutTokenTest(unittest.TestCase):
    def test_publish_with_a_jwt(self):
        plugins = '    - jwt: {secret: "${SLUICE_IT_JWT_SECRET}", algorithms: [HS256], channels_claim: pub}\n'
        with Gateway(publish_config(plugins)) as gw:
            client = SseClient(gw.port, "/s/jobs1")
            try:
                worker = hs256({"exp": in_seconds(600), "pub": ["c:jobs*"]}, SECRET)
                self.assertEqual(publish(gw.port, "c:jobs1", "hello", token=None)[0], 401)
                self.assertEqual(publish(gw.port, "c:jobs1", "x", token="publish-token-is-gone")[0], 401)
                self.assertEqual(publish(gw.port, "c:other", "x", token=worker)[0], 403)
                status, _, body = publish(gw.port, "c:jobs1", "hello", token=worker)
                self.assertEqual(status, 200, body)
                self.assertEqual(client.next_event(timeout=5)["data"], "hello")
            finally:
                client.close()
            self.assertEqual(metric_sum(metrics(gw.port), "sluice_plugin_decisions_total", plugin="jwt",
                                        route="/_sluice/publish/{channel}", decision="allow"), 1)

    def test_publish_with_an_api_key(self):
        plugins = '    - api_key: {keys: ["${SLUICE_IT_API_KEY} c:reports*"]}\n'
        with Gateway(publish_config(plugins)) as gw:
            key = {"X-API-Key": API_KEY}
            self.assertEqual(publish(gw.port, "c:reports", "x", token=None)[0], 401)
            self.assertEqual(publish(gw.port, "c:other", "x", token=None, headers=key)[0], 403)
            status, _, body = publish(gw.port, "c:reports", "x", token=None, headers=key)
            self.assertEqual(status, 200, body)


class KeysFileReloadTest(unittest.TestCase):
    def test_sighup_reads_the_keys_file_again_and_keeps_the_old_keys_on_a_bad_one(self):
        routes = ("- prefix: /api/\n  proxy: {upstream: app}\n  plugins:\n"
                  "    - api_key: {keys_file: @DIR@/keys}\n")
        app = UpstreamServer("a").start()
        self.addCleanup(app.stop)
        gw = Gateway(make_config(routes=routes, extra=f"upstreams:\n  app:\n    servers: [{app.address}]\n"))
        self.addCleanup(gw.cleanup)
        os.makedirs(gw.dir, exist_ok=True)
        keys = os.path.join(gw.dir, "keys")
        with open(keys, "w") as f:
            f.write("k-old\n")
        gw.start()

        def status(key):
            return http_request(gw.port, "GET", "/api/echo", {"X-API-Key": key})[0]

        def reloads(msg):
            return sum(1 for l in gw.error_log_json() if l.get("msg") == msg)

        self.assertEqual(status("k-old"), 200)
        self.assertEqual(status("k-new"), 401)
        with open(keys, "w") as f:
            f.write("k-new\n")
        gw.send_signal(signal.SIGHUP)
        wait_until(lambda: reloads("config reloaded") == 1, what="the reload")
        self.assertEqual(status("k-new"), 200)
        self.assertEqual(status("k-old"), 401)
        # A keys file that is gone: the reload is rejected, the keys read before stay.
        os.remove(keys)
        gw.send_signal(signal.SIGHUP)
        wait_until(lambda: reloads("config reload rejected") == 1, what="the rejected reload")
        self.assertIn("keys_file: cannot read", gw.error_log())
        self.assertEqual(status("k-new"), 200)
        gw.stop()


class CheckTest(unittest.TestCase):
    def run_check(self, text):
        d = tempfile.mkdtemp(prefix="sluice-auth-check-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@PORT@", "0"))
        return subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True, text=True,
                              timeout=30), path

    def test_missing_keys_file_is_a_check_error_at_the_option(self):
        r, path = self.run_check(make_config(routes=(
            "- prefix: /api/\n  proxy: {upstream: app}\n  plugins:\n"
            "    - api_key: {keys_file: /nonexistent/sluice-keys}\n"),
            extra="upstreams:\n  app:\n    servers: [127.0.0.1:9]\n"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"^{path}:\d+:\d+: routes\[0\]\.plugins\[0\]\.api_key\.keys_file: "
                                   r"cannot read /nonexistent/sluice-keys: No such file or directory")

    def test_publish_without_token_or_authenticating_plugin_is_an_error(self):
        r, path = self.run_check(publish_config('    - cors: {origins: ["*"]}\n'))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing required key 'token' in publish", r.stderr)
        r, _ = self.run_check(publish_config('    - api_key: {keys: [k1]}\n'))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
