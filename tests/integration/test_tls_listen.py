"""TLS and HTTP/2 listener configuration, before they are served: `sluice --check` loads
and checks the certificates (file:line:col errors),
and `sluice` refuses to start, or to reload, with a tls or http2 listener instead of
serving plain HTTP there. Certificates are made with the openssl command-line tool."""

import os
import re
import signal
import subprocess
import tempfile
import unittest

from harness import Gateway, make_config, sluice_bin, wait_until
from test_cli import run_sluice

START_REFUSED = "not yet supported by this build"


def make_cert(directory, name, cn="localhost"):
    """A self-signed EC certificate and its key, valid for a day."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:" + cn], check=True, capture_output=True, timeout=30)
    return cert, key


def tls_listen(cert, key, extra=""):
    return (f"listen:\n  - 127.0.0.1:@PORT@\n  - address: 127.0.0.1:0\n"
            f"    tls: {{cert: {cert}, key: {key}}}\n{extra}")


class TlsListenTest(unittest.TestCase):
    def setUp(self):
        sluice_bin()
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-tls-")
        self.addCleanup(self.dir.cleanup)
        self.cert, self.key = make_cert(self.dir.name, "good")
        self.other_cert, self.other_key = make_cert(self.dir.name, "other")

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
            tls_listen(self.cert, self.key) + "  - {address: 127.0.0.1:0, http2: true}\n"))
        r = run_sluice("--check", "-c", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(": ok", r.stdout)

    def test_start_is_refused_with_a_clear_message(self):
        for listen, what in ((tls_listen(self.cert, self.key), "tls and http2 are"),
                             (tls_listen(self.cert, self.key, "    http2: false\n"), "tls is"),
                             ("listen:\n  - {address: 127.0.0.1:0, http2: true}\n", "http2 is")):
            with self.subTest(what=what):
                path = self.write(self.config_with(listen))
                self.assertEqual(run_sluice("--check", "-c", path).returncode, 0)
                r = run_sluice("-c", path)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(what + " " + START_REFUSED, r.stderr)
                self.assertIn(path + ": listen[", r.stderr)

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

    def test_reload_adding_tls_is_rejected_and_plain_keeps_serving(self):
        plain = make_config()
        with Gateway(plain) as gw:
            gw.write_config(self.config_with(tls_listen(self.cert, self.key)).replace(
                "127.0.0.1:18443", f"127.0.0.1:{gw.port}"))
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: START_REFUSED in gw.error_log(), what="the reload refusal")
            self.assertIn("config reload rejected", gw.error_log())
            self.assertTrue(gw.running())


if __name__ == "__main__":
    unittest.main()
