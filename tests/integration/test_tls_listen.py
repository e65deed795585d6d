"""TLS on `listen:` entries (HTTP/1.1 over TLS), against the real binary with real
clients (curl, Python's ssl module, raw sockets): every route kind over TLS, SNI, session
resumption, plaintext on the TLS port, handshake timeouts, close_notify both ways, a
certificate swapped by SIGHUP under an open stream, the slow-client rule for a TLS reader,
the metrics; and the configuration side: `sluice --check` loads the certificates
(file:line:col errors) and the ALPN each listener offers (HTTP/2 itself: test_http2*.py).
Certificates come from a test CA made with the openssl command-line tool."""

import json
import os
import re
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

from harness import (TOKEN, Conn, Gateway, SseClient, SseParser, build_request,
                     make_config, metric_sum, metrics, publish_position, sluice_bin,
                     wait_metric, wait_until)
from test_cli import run_sluice
from upstreams import UpstreamServer


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_ca(directory):
    """A test CA: (cert path, key path)."""
    cert = os.path.join(directory, "ca.crt")
    key = os.path.join(directory, "ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=sluice test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_leaf(directory, ca, name, dns=None, san=None, client=False):
    """A certificate signed by `ca` for `dns`, or for the subjectAltName `san`
    ("IP:127.0.0.1,DNS:x"); `client`: also usable as a client certificate (mutual TLS).
    Returns (cert path, key path)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    csr = os.path.join(directory, name + ".csr")
    ext = os.path.join(directory, name + ".ext")
    usage = "serverAuth,clientAuth" if client else "serverAuth"
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san or 'DNS:' + dns}\nbasicConstraints=CA:FALSE\n"
                f"keyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + (dns or name))
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial",
            str(int.from_bytes(os.urandom(8), "big")), "-days", "1", "-out", cert, "-extfile", ext)
    return cert, key


def make_self_signed(directory, name, cn="localhost"):
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=DNS:" + cn)
    return cert, key


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def tls_listen(tls_map, extra=""):
    """A plain listener first (the harness's port, health checks, publishing), then a TLS
    one on a port of its own choosing."""
    return f"listen:\n  - 127.0.0.1:@PORT@\n  - address: 127.0.0.1:0\n    tls: {tls_map}\n{extra}"


def single(cert_key):
    return f"{{cert: {cert_key[0]}, key: {cert_key[1]}}}"


def tls_config(tls_map, routes=None, limits=None, extra="", listen_extra=""):
    kw = {"limits": limits, "extra": extra}
    if routes is not None:
        kw["routes"] = routes
    text = make_config(**kw)
    return text.replace("listen: 127.0.0.1:@PORT@\n", tls_listen(tls_map, listen_extra))


def tls_port(gw):
    """The TLS listener's port, from its "listening" line (which says tls and alpn)."""
    def find():
        for line in gw.error_log().splitlines():
            if '"listening"' in line and '"tls"' in line:
                doc = json.loads(line)
                return int(doc["address"].rsplit(":", 1)[1]), doc
        return None
    return wait_until(find, 5, what="the TLS listening line")


class TlsConn(Conn):
    """Conn (request/response helpers) over TLS."""

    def __init__(self, port, context, server_hostname="localhost", timeout=5.0, rcvbuf=None,
                 session=None):
        super().__init__(port, timeout, rcvbuf)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname, session=session)


class TlsSseClient(SseClient):
    def __init__(self, port, path, context, timeout=5.0, rcvbuf=None):  # noqa: super not called
        self.conn = TlsConn(port, context, timeout=timeout, rcvbuf=rcvbuf)
        self.conn.send(build_request("GET", path))
        self.status, self.headers = self.conn.read_head()
        self.body = b""
        self.raw = bytearray()
        self.parser = SseParser()
        if self.conn.buf:
            self._feed(self.conn.take(len(self.conn.buf)))


class TlsTestBase(unittest.TestCase):
    def setUp(self):
        sluice_bin()
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-tls-")
        self.addCleanup(self.dir.cleanup)
        self.ca = make_ca(self.dir.name)
        self.leaf = make_leaf(self.dir.name, self.ca, "localhost", "localhost")

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.ca[0])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def gateway(self, config):
        """A started gateway, stopped after the test (clients closed first) with its clean
        exit checked: status 0, no sanitizer report."""
        gw = Gateway(config).start()
        self.addCleanup(gw.cleanup)
        self.addCleanup(gw.stop)
        self.addCleanup(lambda: self._dump_if_failed(gw))
        return gw

    def _dump_if_failed(self, gw):
        outcome = getattr(self, "_outcome", None)
        if outcome is not None and not getattr(outcome, "success", True):
            gw.dump_logs()

    def curl(self, port, path, *args, name="localhost"):
        """curl --http1.1 over TLS with the test CA: (exit code, stdout, stderr)."""
        r = subprocess.run(["curl", "--http1.1", "-sS", "--max-time", "10", "--cacert", self.ca[0],
                            "--resolve", f"{name}:{port}:127.0.0.1", *args,
                            f"https://{name}:{port}{path}"],
                           capture_output=True, timeout=30)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")


class TlsRoutesTest(TlsTestBase):
    """Every route kind over TLS, with curl and Python's ssl module."""

    def test_every_route_kind_over_tls(self):
        site = os.path.join(self.dir.name, "site")
        os.mkdir(site)
        with open(os.path.join(site, "hello.txt"), "w") as f:
            f.write("hello over tls\n")
        with UpstreamServer() as up:
            routes = f"""
            - path: /s/{{id}}
              sse:
                channel: c:{{id}}
                heartbeat: 300ms
            - path: /p/{{id}}
              poll:
                channel: c:{{id}}
            - prefix: /api/
              proxy:
                upstream: app
            - prefix: /static/
              static:
                root: {site}
            """
            extra = f"upstreams:\n  app:\n    servers: [{up.address}]\n"
            gw = self.gateway(tls_config(single(self.leaf), routes=routes, extra=extra))
            port, listening = tls_port(gw)
            self.assertEqual(listening["alpn"], "h2,http/1.1")  # curl here asks for http/1.1

            # publish over TLS (curl), read back by poll over TLS (curl)
            rc, out, err = self.curl(port, "/_sluice/publish/c:one", "-X", "POST",
                                     "-H", f"Authorization: Bearer {TOKEN}", "--data-binary", "first")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out)["position"], 1)
            rc, out, err = self.curl(port, "/p/one?position=0")
            self.assertEqual(rc, 0, err)
            self.assertIn(b"first", out)

            # proxy and static over TLS
            rc, out, err = self.curl(port, "/api/echo/1", "-w", "\n%{http_code} %{http_version}")
            self.assertEqual(rc, 0, err)
            self.assertTrue(out.endswith(b"\n200 1.1"), out)
            self.assertEqual(json.loads(out.rsplit(b"\n", 1)[0])["path"], "/api/echo/1")
            rc, out, err = self.curl(port, "/static/hello.txt")
            self.assertEqual((rc, out), (0, b"hello over tls\n"), err)

            # admin endpoints over TLS
            rc, out, err = self.curl(port, "/_sluice/metrics")
            self.assertEqual(rc, 0, err)
            self.assertIn(b'sluice_tls_handshakes_total{version="TLSv1.3"}', out)

            # sse over TLS (curl): events and heartbeats
            proc = subprocess.Popen(["curl", "--http1.1", "-sSN", "--max-time", "20", "--cacert",
                                     self.ca[0], "--resolve", f"localhost:{port}:127.0.0.1",
                                     f"https://localhost:{port}/s/two"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.addCleanup(lambda: (proc.kill(), proc.wait(5), proc.stdout.close(), proc.stderr.close()))
            wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the curl stream")
            publish_position(gw.port, "c:two", "over-curl")
            data = b""
            deadline = time.monotonic() + 10
            # the event, then a heartbeat comment line after it
            while b"data: over-curl" not in data or b"\n:" not in data.split(b"data: over-curl")[1]:
                self.assertLess(time.monotonic(), deadline, data)
                chunk = os.read(proc.stdout.fileno(), 4096)
                self.assertTrue(chunk, data)
                data += chunk
            self.assertIn(b"id: 1\n", data)

            # sse over TLS (Python ssl): an event, then a heartbeat comment
            client = TlsSseClient(port, "/s/three", self.client_context())
            self.addCleanup(client.conn.close)
            self.assertEqual(client.status, 200)
            wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 2, "the ssl stream")
            publish_position(gw.port, "c:three", "over-ssl")
            got = client.read_until(lambda b: b["data"] == "over-ssl", 5)
            self.assertEqual(got[-1]["id"], "1")
            client.read_until(lambda b: b["data"] is None and b["comments"], 5, all_blocks=True)

            m = metrics(gw.port)
            self.assertGreaterEqual(metric_sum(m, "sluice_tls_handshakes_total"), 7)
            self.assertEqual(metric_sum(m, "sluice_tls_handshake_failures_total"), 0)

    def test_keep_alive_and_graceful_close_sends_close_notify(self):
        gw = self.gateway(tls_config(single(self.leaf)))
        port, _ = tls_port(gw)
        conn = TlsConn(port, self.client_context())
        self.addCleanup(conn.close)
        # Two requests on one TLS connection, the second asks to close.
        self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
        status, headers, _ = conn.request("GET", "/_sluice/health", {"Connection": "close"})
        self.assertEqual((status, headers.get("connection")), (200, "close"))
        # A close without close_notify is an SSLEOFError with ragged EOFs not suppressed.
        conn.sock.suppress_ragged_eofs = False
        conn.sock.settimeout(5)
        self.assertEqual(conn.sock.recv(100), b"")

    def test_client_close_notify_ends_a_stream(self):
        gw = self.gateway(tls_config(single(self.leaf)))
        port, _ = tls_port(gw)
        client = TlsSseClient(port, "/s/cn", self.client_context())
        self.addCleanup(client.conn.close)
        self.assertEqual(client.status, 200)
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the stream")
        try:
            client.conn.sock.unwrap()  # sends close_notify; the TCP connection stays open
        except ssl.SSLError:
            pass  # close_notify went out; unwrap() then refuses the stream's bytes still coming
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 0, "the stream's end")


    def test_drain_ends_tls_streams_with_close_notify(self):
        gw = self.gateway(tls_config(single(self.leaf)))
        port, _ = tls_port(gw)
        client = TlsSseClient(port, "/s/drain", self.client_context())
        self.addCleanup(client.conn.close)
        self.assertEqual(client.status, 200)
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the stream")
        client.conn.sock.suppress_ragged_eofs = False  # a close without close_notify raises
        gw.send_signal(signal.SIGTERM)
        self.assertTrue(client.conn.wait_closed(10), "the stream was not ended by the drain")
        gw.wait_exit(10)

    def test_connections_over_max_connections_are_closed_before_the_handshake(self):
        gw = self.gateway(tls_config(single(self.leaf), limits={"max_connections": 1}))
        port, _ = tls_port(gw)
        def take_the_slot():
            # The start-up health check's connection may not be released yet: retry.
            try:
                conn = TlsConn(port, self.client_context())
            except (ssl.SSLError, OSError):
                return None
            self.addCleanup(conn.close)
            return conn if conn.request("GET", "/_sluice/health")[0] == 200 else None
        first = wait_until(take_the_slot, 5, what="the one connection slot")
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            second = TlsConn(port, self.client_context())
            self.addCleanup(second.close)
        gw.wait_log(lambda line: line.get("reason") == "max_connections" and line.get("tls") is True)
        first.close()


class TlsHandshakeTest(TlsTestBase):
    def test_sni_chooses_between_two_certificates(self):
        other = make_leaf(self.dir.name, self.ca, "other", "other.test")
        tls_map = ("\n      certificates:\n"
                   f"        - {single(self.leaf)}\n"
                   f"        - {single(other)}\n")
        gw = self.gateway(tls_config(tls_map))
        port, _ = tls_port(gw)
        ctx = self.client_context()
        for name, cert in (("localhost", self.leaf[0]), ("other.test", other[0])):
            with self.subTest(name=name):
                conn = TlsConn(port, ctx, server_hostname=name)
                self.addCleanup(conn.close)
                self.assertEqual(conn.sock.getpeercert(binary_form=True), der_of(cert))
                self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
        # No name matching: the first certificate (hostname checking off to see it).
        loose = self.client_context()
        loose.check_hostname = False
        conn = TlsConn(port, loose, server_hostname="unknown.test")
        self.addCleanup(conn.close)
        self.assertEqual(conn.sock.getpeercert(binary_form=True), der_of(self.leaf[0]))
        # curl with SNI other.test verifies other.test's certificate.
        rc, out, err = self.curl(port, "/_sluice/health", name="other.test")
        self.assertEqual(rc, 0, err)

    def test_session_resumption_with_a_ticket(self):
        gw = self.gateway(tls_config(single(self.leaf)))
        port, _ = tls_port(gw)
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version.name):
                ctx = self.client_context()
                ctx.maximum_version = version
                first = TlsConn(port, ctx)
                self.addCleanup(first.close)
                # TLS 1.3 tickets come after the handshake: a response has been read.
                self.assertEqual(first.request("GET", "/_sluice/health")[0], 200)
                self.assertFalse(first.sock.session_reused)
                session = first.sock.session
                second = TlsConn(port, ctx, session=session)
                self.addCleanup(second.close)
                self.assertEqual(second.request("GET", "/_sluice/health")[0], 200)
                self.assertTrue(second.sock.session_reused)
        m = metrics(gw.port)
        self.assertEqual(metric_sum(m, "sluice_tls_resumed_total"), 2)
        self.assertEqual(metric_sum(m, "sluice_tls_handshakes_total", version="TLSv1.2"), 2)
        self.assertEqual(metric_sum(m, "sluice_tls_handshakes_total", version="TLSv1.3"), 2)

    def test_plaintext_http_on_the_tls_port_gets_a_400_and_a_close(self):
        gw = self.gateway(tls_config(single(self.leaf)))
        port, _ = tls_port(gw)
        conn = Conn(port)
        self.addCleanup(conn.close)
        conn.send(b"GET /s/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, body = conn.read_response()
        self.assertEqual(status, 400)
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(body, b"This port speaks HTTPS (TLS): use an https:// URL\n")
        self.assertTrue(conn.wait_closed(5))
        gw.wait_log(lambda line: "TLS handshake failed" in json.dumps(line) and line.get("reason") == "not_tls"
                    and line.get("remote") == "127.0.0.1")
        wait_metric(gw.port, "sluice_tls_handshake_failures_total", lambda v: v == 1, reason="not_tls")
        # Garbage that is not HTTP either: an alert or a close, counted as other.
        conn = Conn(port)
        self.addCleanup(conn.close)
        conn.send(b"\x16\x03\x01\x00\x05hello")
        self.assertTrue(conn.wait_closed(5))
        wait_metric(gw.port, "sluice_tls_handshake_failures_total", lambda v: v == 1, reason="other")
        # A client that offers only TLS 1.1 is refused (protocol_version).
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                old.minimum_version = ssl.TLSVersion.TLSv1_1
                old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            old = None  # this Python's OpenSSL cannot even offer TLS 1.1
        if old is not None:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                TlsConn(port, old)
            wait_metric(gw.port, "sluice_tls_handshake_failures_total", lambda v: v == 1,
                        reason="protocol_version")
        self.assertTrue(gw.running())

    def test_handshake_timeout_is_the_header_timeout(self):
        gw = self.gateway(tls_config(single(self.leaf), limits={"header_timeout": "1s"}))
        port, _ = tls_port(gw)
        silent = Conn(port, timeout=10)
        self.addCleanup(silent.close)
        # The first bytes of a ClientHello record (header and a few body bytes), no more.
        partial = Conn(port, timeout=10)
        self.addCleanup(partial.close)
        partial.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        self.assertTrue(silent.wait_closed(10), "a silent TLS client was never closed")
        self.assertTrue(partial.wait_closed(10), "a partial ClientHello was never closed")
        wait_metric(gw.port, "sluice_tls_handshake_failures_total", lambda v: v == 2, reason="timeout")
        self.assertIn("TLS handshake timeout", gw.error_log())
        # A completed handshake then a request still works.
        conn = TlsConn(port, self.client_context())
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)


class TlsReloadTest(TlsTestBase):
    def test_sighup_swaps_the_certificate_and_open_streams_keep_going(self):
        served = (os.path.join(self.dir.name, "served.crt"), os.path.join(self.dir.name, "served.key"))
        old = self.leaf
        new = make_leaf(self.dir.name, self.ca, "renewed", "localhost")
        for src, dst in zip(old, served):
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
        gw = self.gateway(tls_config(single(served)))
        port, _ = tls_port(gw)
        ctx = self.client_context()
        stream = TlsSseClient(port, "/s/reload", ctx)
        self.addCleanup(stream.conn.close)
        self.assertEqual(stream.status, 200)
        self.assertEqual(stream.conn.sock.getpeercert(binary_form=True), der_of(old[0]))
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the stream")
        publish_position(gw.port, "c:reload", "before")
        self.assertEqual(stream.read_until(lambda b: b["data"] == "before")[-1]["data"], "before")

        for src, dst in zip(new, served):
            with open(src, "rb") as f, open(dst + ".tmp", "wb") as g:
                g.write(f.read())
            os.replace(dst + ".tmp", dst)
        gw.send_signal(signal.SIGHUP)
        wait_metric(gw.port, "sluice_config_reloads_total", lambda v: v == 1, "the reload")

        # The open stream (on the old context) keeps receiving.
        publish_position(gw.port, "c:reload", "after")
        self.assertEqual(stream.read_until(lambda b: b["data"] == "after")[-1]["data"], "after")
        # New connections get the new certificate.
        conn = TlsConn(port, ctx)
        self.addCleanup(conn.close)
        self.assertEqual(conn.sock.getpeercert(binary_form=True), der_of(new[0]))
        self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)
        self.assertEqual(metric_sum(metrics(gw.port), "sluice_sse_streams_open"), 1)

    def test_reload_with_a_broken_certificate_is_rejected_and_tls_keeps_serving(self):
        served = (os.path.join(self.dir.name, "served.crt"), os.path.join(self.dir.name, "served.key"))
        for src, dst in zip(self.leaf, served):
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
        gw = self.gateway(tls_config(single(served)))
        port, _ = tls_port(gw)
        with open(served[1], "w") as f:
            f.write("not a key\n")
        gw.send_signal(signal.SIGHUP)
        wait_metric(gw.port, "sluice_config_reload_failures_total", lambda v: v == 1, "the refusal")
        self.assertIn("config reload rejected", gw.error_log())
        conn = TlsConn(port, self.client_context())
        self.addCleanup(conn.close)
        self.assertEqual(conn.sock.getpeercert(binary_form=True), der_of(self.leaf[0]))
        self.assertEqual(conn.request("GET", "/_sluice/health")[0], 200)


class TlsSlowClientTest(TlsTestBase):
    def test_a_stalled_tls_reader_hits_the_slow_client_rule(self):
        gw = self.gateway(tls_config(single(self.leaf), limits={"client_buffer": "8KiB"}))
        port, _ = tls_port(gw)
        stalled = TlsSseClient(port, "/s/slow", self.client_context(), rcvbuf=4096)
        self.addCleanup(stalled.conn.close)
        self.assertEqual(stalled.status, 200)
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the stream")
        payload = "x" * 2048
        publisher = Conn(gw.port)
        self.addCleanup(publisher.close)
        deadline = time.monotonic() + 30
        disconnected = False
        i = 0
        while time.monotonic() < deadline:
            publish_position(gw.port, "c:slow", payload, conn=publisher)
            i += 1
            if i % 100 == 0:
                if metric_sum(metrics(gw.port), "sluice_sse_slow_disconnects_total") >= 1:
                    disconnected = True
                    break
                time.sleep(0.05)
        self.assertTrue(disconnected, f"the stalled TLS reader was never disconnected ({i} events)")
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 0, "the stream's end")
        self.assertTrue(gw.running())


class TlsConfigTest(unittest.TestCase):
    """`--check` and start-up: what is served, what is refused and why."""

    def setUp(self):
        sluice_bin()
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-tls-")
        self.addCleanup(self.dir.cleanup)
        self.cert, self.key = make_self_signed(self.dir.name, "good")
        self.other_cert, self.other_key = make_self_signed(self.dir.name, "other")

    def config_with(self, listen):
        text = make_config().replace("listen: 127.0.0.1:@PORT@\n", listen)
        return text.replace("@PORT@", "18443")

    def write(self, text):
        path = os.path.join(self.dir.name, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_check_accepts_tls_and_http2_listeners(self):
        path = self.write(self.config_with(
            tls_listen(single((self.cert, self.key))) + "  - {address: 127.0.0.1:0, http2: true}\n"))
        r = run_sluice("--check", "-c", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(": ok", r.stdout)

    def test_explicit_http2_starts_over_tls_and_as_h2c(self):
        tls = single((self.cert, self.key))
        text = make_config().replace("listen: 127.0.0.1:@PORT@\n", tls_listen(tls, "    http2: true\n") +
                                     "  - {address: 127.0.0.1:0, http2: true}\n")
        with Gateway(text) as gw:
            _, listening = tls_port(gw)
            self.assertEqual(listening["alpn"], "h2,http/1.1")
            gw.wait_log(lambda l: l.get("msg") == "listening" and l.get("h2c") is True,
                        what="the h2c listening line")

    def test_tls_alpn_follows_http2_default_or_off(self):
        tls = single((self.cert, self.key))
        for extra, alpn in (("", "h2,http/1.1"), ("    http2: false\n", "http/1.1")):
            with self.subTest(extra=extra):
                text = make_config().replace("listen: 127.0.0.1:@PORT@\n", tls_listen(tls, extra))
                with Gateway(text) as gw:
                    _, listening = tls_port(gw)
                    self.assertEqual(listening["alpn"], alpn)

    def test_certificate_errors_at_check_time(self):
        missing = os.path.join(self.dir.name, "missing.pem")
        cases = [
            (f"    tls: {{cert: {missing}, key: {self.key}}}\n",
             f"listen[1].tls.cert: cannot read '{missing}': No such file or directory"),
            (f"    tls: {{cert: {self.cert}, key: {self.other_key}}}\n",
             f"listen[1].tls.key: the key in '{self.other_key}' does not match the certificate "
             f"in '{self.cert}'"),
            ("    tls: {cert: x}\n", "missing required key 'key' in listen[1].tls"),
            ("    tls: {cert: x, key: y, ocsp: z}\n", "unknown key 'ocsp' in listen[1].tls"),
        ]
        for tls, message in cases:
            with self.subTest(message=message):
                listen = "listen:\n  - 127.0.0.1:@PORT@\n  - address: 127.0.0.1:0\n" + tls
                path = self.write(self.config_with(listen))
                r = run_sluice("--check", "-c", path)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertRegex(r.stderr, re.escape(path) + r":4:\d+: " + re.escape(message))

    def test_reload_adding_a_tls_listener_needs_a_restart_and_plain_keeps_serving(self):
        plain = make_config()
        with Gateway(plain) as gw:
            gw.write_config(self.config_with(tls_listen(single((self.cert, self.key)))).replace(
                "127.0.0.1:18443", f"127.0.0.1:{gw.port}"))
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: "take effect only after a restart" in gw.error_log(),
                       what="the restart warning")
            self.assertIn('"keys":"listen"', gw.error_log().replace(" ", ""))
            self.assertTrue(gw.running())
            self.assertEqual(metric_sum(metrics(gw.port), "sluice_tls_handshakes_total"), 0)


if __name__ == "__main__":
    unittest.main()
