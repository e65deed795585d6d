"""TLS to upstreams (issue 13): `tls: true` on an upstream, against the real binary and real
TLS upstreams (Python's ssl module serving the upstreams.py behaviours) with a test CA made
by the openssl tool: requests and bodies, keep-alive reuse of TLS connections, SSE
passthrough, SNI and the verified name (server_name, or the server's own host/address),
mutual TLS; every refusal is a 502 with the reason in the log and the `tls` failure metric
(untrusted issuer, wrong name, a plain HTTP server behind `tls: true`); the `--check`
errors at file:line:col. And X-Forwarded-Proto, which follows the client's listener
(https on a TLS listener, over HTTP/1.1 and HTTP/2) for proxy routes and forward_auth."""

import os
import ssl
import subprocess
import tempfile
import unittest

from harness import (SseClient, http_request, make_config, metric_sum, metrics,
                     sluice_bin, wait_until)
from test_cli import run_sluice
from test_tls_listen import (TlsTestBase, make_ca, make_leaf, single, tls_config,
                             tls_port)
from upstreams import HOST, AcceptLoopServer, UpstreamServer


def server_context(leaf, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(leaf[0], leaf[1])
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


class PlaintextHttpServer(AcceptLoopServer):
    """A plain HTTP server that answers anything (a ClientHello too) with a 400 and closes,
    as an HTTP server does when TLS is spoken to it."""

    def handle(self, conn):
        conn.settimeout(2)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


ROUTES = """
- prefix: /api/
  proxy:
    upstream: app
"""


def upstream_config(address, keys, routes=ROUTES):
    lines = "".join(f"    {k}: {v}\n" for k, v in keys.items())
    return make_config(routes=routes, extra=f"upstreams:\n  app:\n    servers: [{address}]\n{lines}")


class UpstreamTlsBase(TlsTestBase):
    """Its own CAs and upstream certificates; gateway() from TlsTestBase."""

    def setUp(self):
        sluice_bin()
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-utls-")
        self.addCleanup(self.dir.cleanup)
        d = self.dir.name
        self.ca = make_ca(d)
        self.named = make_leaf(d, self.ca, "upstream", "upstream.test")
        self.by_ip = make_leaf(d, self.ca, "by-ip", san="IP:127.0.0.1", client=True)
        other_dir = os.path.join(d, "other")
        os.mkdir(other_dir)
        self.other_ca = make_ca(other_dir)

    def tls_upstream(self, leaf, client_ca=None):
        up = UpstreamServer("tls", ssl_context=server_context(leaf, client_ca)).start()
        self.addCleanup(up.stop)
        return up

    def proxy_error(self, gw):
        """The first `proxy error` log line, as a dict."""
        def find():
            for doc in gw.error_log_json():
                if doc.get("msg") == "proxy error":
                    return doc
            return None
        return wait_until(find, 5, what="a proxy error line")


class UpstreamTlsTest(UpstreamTlsBase):
    def test_requests_bodies_and_keep_alive_over_tls_with_sni(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "ca_file": self.ca[0],
                                                       "server_name": "upstream.test"}))
        status, headers, body = http_request(gw.port, "GET", "/api/echo/1?x=1")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["x-upstream"], "tls")
        status, _, body = http_request(gw.port, "POST", "/api/echo", {"Content-Type": "text/plain"},
                                       "over tls " * 10000)
        self.assertEqual(status, 200)
        self.assertEqual(up.last()["body"], b"over tls " * 10000)
        self.assertEqual(up.last()["method"], "POST")
        for i in range(3):
            status, _, _ = http_request(gw.port, "GET", f"/api/echo/{i}")
            self.assertEqual(status, 200)
        # Five requests, one TLS connection: the pooled connection was reused each time.
        self.assertEqual(up.connections, 1)
        self.assertEqual(up.sni_names, ["upstream.test"])
        self.assertEqual(up.last()["headers"]["x-forwarded-proto"], "http")  # a plain listener

    def test_the_server_address_is_the_default_name_verified_without_sni(self):
        up = self.tls_upstream(self.by_ip)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "ca_file": self.ca[0]}))
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 200, body)
        self.assertEqual(up.sni_names, [None])  # an address is never sent as SNI

    def test_sse_passthrough_over_a_tls_upstream(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "ca_file": self.ca[0],
                                                       "server_name": "upstream.test"}))
        # Three events, then the upstream holds the stream open: they arrive while it is open.
        client = SseClient(gw.port, "/api/sse?n=3&interval=0.05&hold=3")
        try:
            self.assertEqual(client.status, 200)
            self.assertEqual(client.headers["content-type"], "text/event-stream")
            events = client.read_events(3)
            self.assertEqual([e["id"] for e in events], ["1", "2", "3"])
            self.assertEqual(events[2]["data"], '{"n":3}')
            self.assertFalse(client.closed)
        finally:
            client.close()

    def test_mutual_tls_presents_the_client_certificate(self):
        up = self.tls_upstream(self.named, client_ca=self.ca[0])
        me = make_leaf(self.dir.name, self.ca, "sluice-client", san="DNS:sluice.test", client=True)
        keys = {"tls": "true", "ca_file": self.ca[0], "server_name": "upstream.test"}
        gw = self.gateway(upstream_config(up.address, dict(keys, client_cert=me[0], client_key=me[1])))
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 200, body)
        gw.stop()
        # Without a client certificate the upstream refuses the handshake: 502.
        gw = self.gateway(upstream_config(up.address, keys))
        status, _, _ = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 502)


class UpstreamTlsRefusalsTest(UpstreamTlsBase):
    def check_refused(self, gw, detail):
        status, headers, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 502)
        self.assertIn(b"upstream TLS handshake failed", body)
        line = self.proxy_error(gw)
        self.assertEqual(line["error"], "upstream TLS handshake failed")
        self.assertIn(detail, line["detail"])
        self.assertEqual(line["request_id"], headers["x-request-id"])
        m = metrics(gw.port)
        self.assertGreaterEqual(metric_sum(m, "sluice_upstream_failures_total", upstream="app",
                                           reason="tls"), 1)

    def test_an_untrusted_issuer_is_502_with_the_reason(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "ca_file": self.other_ca[0],
                                                       "server_name": "upstream.test"}))
        self.check_refused(gw, "certificate verify failed: unable to get local issuer certificate")

    def test_a_wrong_server_name_is_502_with_the_reason(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "ca_file": self.ca[0],
                                                       "server_name": "elsewhere.test"}))
        self.check_refused(gw, "certificate verify failed: hostname mismatch")
        self.assertEqual(up.sni_names[0], "elsewhere.test")

    def test_the_system_store_does_not_trust_a_private_ca(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "server_name": "upstream.test"}))
        self.check_refused(gw, "certificate verify failed")

    def test_a_plain_http_server_behind_tls_true_is_502(self):
        with PlaintextHttpServer() as plain:
            gw = self.gateway(upstream_config(plain.address, {"tls": "true", "ca_file": self.ca[0]}))
            self.check_refused(gw, "the server answered in plaintext HTTP, not TLS")
            self.assertGreaterEqual(plain.connections, 1)

    def test_health_checks_speak_tls_and_fail_an_untrusted_server(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {
            "tls": "true", "ca_file": self.other_ca[0], "server_name": "upstream.test",
            "health_check": "{path: /health, interval: 200ms, timeout: 1s}"}))
        gw.wait_log(lambda line: line.get("msg") == "upstream server failed its health check", 10,
                    "the failed health check")
        self.assertGreaterEqual(up.tls_failures, 1)  # the probe's handshake, refused by sluice
        self.assertEqual(up.requests, [])             # no check request was ever sent in clear

    def test_verify_false_accepts_any_certificate(self):
        up = self.tls_upstream(self.named)
        gw = self.gateway(upstream_config(up.address, {"tls": "true", "verify": "false"}))
        status, _, body = http_request(gw.port, "GET", "/api/echo")
        self.assertEqual(status, 200, body)


class UpstreamTlsCheckTest(UpstreamTlsBase):
    def check_errors(self, keys):
        path = os.path.join(self.dir.name, "c.yaml")
        with open(path, "w") as f:
            # upstreams.app's own keys start at line 6.
            f.write("listen: 127.0.0.1:8080\npublish: {token: t}\nupstreams:\n  app:\n    servers: [127.0.0.1:9]\n" +
                    "".join(f"    {k}: {v}\n" for k, v in keys) +
                    "routes:\n  - prefix: /\n    proxy: {upstream: app}\n")
        r = run_sluice("--check", "-c", path)
        return r.returncode, r.stderr, path

    def test_check_accepts_upstream_tls(self):
        me = make_leaf(self.dir.name, self.ca, "me", san="DNS:sluice.test", client=True)
        rc, err, _ = self.check_errors([("tls", "true"), ("ca_file", self.ca[0]),
                                        ("server_name", "api.internal"),
                                        ("client_cert", me[0]), ("client_key", me[1])])
        self.assertEqual(rc, 0, err)

    def test_check_errors_at_file_line_col(self):
        missing = os.path.join(self.dir.name, "missing.pem")
        cases = [
            ([("ca_file", self.ca[0])],
             "c.yaml:6:5: upstreams.app.ca_file: only applies with tls: true on the upstream"),
            ([("tls", "false"), ("server_name", "a.test")],
             "c.yaml:7:5: upstreams.app.server_name: only applies with tls: true on the upstream"),
            ([("tls", "true"), ("ca_file", missing)],
             f"c.yaml:7:14: upstreams.app.ca_file: cannot read '{missing}': No such file or directory"),
            ([("tls", "true"), ("ca_file", self.ca[1])],
             f"c.yaml:7:14: upstreams.app.ca_file: '{self.ca[1]}' holds no PEM certificate"),
            ([("tls", "yes")], "c.yaml:6:10: upstreams.app.tls: expected true or false, got 'yes'"),
            ([("tls", "true"), ("server_name", "'bad name'")],
             "c.yaml:7:18: upstreams.app.server_name: 'bad name' is not a host name"),
            ([("tls", "true"), ("client_cert", self.named[0])],
             "c.yaml:7:5: upstreams.app.client_cert: client_cert and client_key go together"),
            ([("tls", "true"), ("client_cert", self.named[0]), ("client_key", self.by_ip[1])],
             "c.yaml:8:17: upstreams.app.client_key: the key in"),
            ([("tls", "true"), ("verify", "false"), ("ca_file", self.ca[0])],
             "c.yaml:8:5: upstreams.app.ca_file: has no use with verify: false"),
        ]
        for keys, expected in cases:
            with self.subTest(keys=keys):
                rc, err, _ = self.check_errors(keys)
                self.assertEqual(rc, 1, err)
                self.assertIn(expected, err)

    def test_verify_false_is_a_warning(self):
        rc, err, _ = self.check_errors([("tls", "true"), ("verify", "false")])
        self.assertEqual(rc, 0, err)
        self.assertIn("c.yaml:7:5: warning: upstreams.app.verify: the servers' certificates are not "
                      "checked", err)


class ForwardedProtoTest(UpstreamTlsBase):
    """X-Forwarded-Proto says how the client reached sluice: https on a TLS listener."""

    def curl(self, port, path, *args):
        r = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", self.ca[0],
                            "--resolve", f"localhost:{port}:127.0.0.1", *args,
                            f"https://localhost:{port}{path}"], capture_output=True, timeout=30)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")

    def test_proxy_and_forward_auth_get_https_from_a_tls_listener(self):
        leaf = make_leaf(self.dir.name, self.ca, "localhost", "localhost")
        app = UpstreamServer("app").start()
        self.addCleanup(app.stop)
        auth = UpstreamServer("auth").start()
        self.addCleanup(auth.stop)
        routes = """
        - prefix: /api/
          proxy: {upstream: app}
        - prefix: /guarded/
          proxy: {upstream: app}
          plugins:
            - forward_auth: {upstream: auth, path: /echo/check}
        """
        extra = f"upstreams:\n  app:\n    servers: [{app.address}]\n  auth:\n    servers: [{auth.address}]\n"
        gw = self.gateway(tls_config(single(leaf), routes=routes, extra=extra))
        port, _ = tls_port(gw)
        for version in ("--http1.1", "--http2"):
            with self.subTest(version=version):
                rc, _, err = self.curl(port, "/api/echo/1", version)
                self.assertEqual(rc, 0, err)
                self.assertEqual(app.last()["headers"]["x-forwarded-proto"], "https")
                rc, _, err = self.curl(port, "/guarded/echo/2", version)
                self.assertEqual(rc, 0, err)
                self.assertEqual(auth.last()["headers"]["x-forwarded-proto"], "https")
                self.assertEqual(app.last()["path"], "/guarded/echo/2")
                self.assertEqual(app.last()["headers"]["x-forwarded-proto"], "https")
        # The plain listener of the same gateway: http.
        status, _, _ = http_request(gw.port, "GET", "/guarded/echo/3")
        self.assertEqual(status, 200)
        self.assertEqual(auth.last()["headers"]["x-forwarded-proto"], "http")
        self.assertEqual(app.last()["headers"]["x-forwarded-proto"], "http")


if __name__ == "__main__":
    unittest.main()
