"""A short run of bench/sluice-bench against the real gateway: a few hundred SSE
connections over several channels, events published over HTTP, one reconnect storm; every
event must arrive exactly once (0 lost, 0 duplicated, 0 reordered); the same over TLS and
over HTTP/2 (the bench's own TLS and HTTP/2 clients, used by compare.sh's TLS rows). Not a
timing test."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import TOKEN, Gateway, make_config, metric_sum, metrics
from test_tls_listen import make_self_signed, single, tls_config, tls_port

ROUTES = """
- path: /bench/{c}/stream
  sse:
    channel: "bench:{c}"
    heartbeat: 5s
    history: {size: 5000}
"""


def bench_bin():
    path = os.environ.get("SLUICE_BENCH_BIN", "")
    if not path or not os.path.exists(path):
        raise AssertionError("SLUICE_BENCH_BIN is not built (cmake --build build)")
    return path


class BenchSmokeTest(unittest.TestCase):
    def run_bench(self, port, *extra, url=None, connections=300, duration=5):
        args = [bench_bin(), "--json-only",
                "--url", url or f"http://127.0.0.1:{port}/bench/{{c}}/stream",
                "--publish", "http",
                "--publish-url", f"http://127.0.0.1:{port}/_sluice/publish/bench:{{c}}",
                "--token", TOKEN, "--connections", str(connections), "--channels", "6",
                "--ramp", "1000", "--rate", "200", "--size", "256", "--duration", str(duration),
                *extra]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertIn(done.returncode, (0, 1), done.stderr)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        return report

    def check_exact(self, report, connections=300):
        self.assertEqual(report["connected"], connections, report)
        self.assertEqual(report["failed"], 0, report)
        self.assertGreater(report["received"], 0, report)
        self.assertEqual(report["lost"], 0, report)
        self.assertEqual(report["duplicated"], 0, report)
        self.assertEqual(report["reordered"], 0, report)
        self.assertTrue(report["ok"], report)

    def test_every_event_exactly_once(self):
        with Gateway(make_config(routes=ROUTES, workers=2)) as gw:
            self.check_exact(self.run_bench(gw.port))

    def test_reconnect_storm_resumes_exactly(self):
        with Gateway(make_config(routes=ROUTES, workers=2)) as gw:
            report = self.run_bench(gw.port, "--reconnect-storm-at", "2")
            self.check_exact(report)
            self.assertIsNotNone(report["storm"], report)


class BenchOverTlsTest(BenchSmokeTest):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="sluice-bench-tls-")
        cls.cert = make_self_signed(cls.certs, "server")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def secure_run(self, *extra, connections=300):
        """The bench over the TLS listener: its report and the gateway's metrics after. A
        longer run than over plain HTTP: a sanitizer build on a busy machine takes seconds
        for a few hundred handshakes."""
        with Gateway(tls_config(single(self.cert), routes=ROUTES,
                                listen_extra="    http2: true\n")) as gw:
            port, _ = tls_port(gw)
            report = self.run_bench(gw.port, *extra, connections=connections, duration=10,
                                    url=f"https://127.0.0.1:{port}/bench/{{c}}/stream")
            return report, metrics(gw.port)

    def test_every_event_exactly_once(self):
        # 60 streams, each with a handshake of its own, and again for each stream the storm
        # dropped and brought back.
        report, m = self.secure_run("--reconnect-storm-at", "5", connections=60)
        self.check_exact(report, connections=60)
        dropped = report["storm"]["dropped"]
        self.assertGreater(dropped, 0, report)
        self.assertGreaterEqual(metric_sum(m, "sluice_tls_handshakes_total"), 60 + dropped)
        self.assertEqual(metric_sum(m, "sluice_http2_connections_total"), 0)

    def test_reconnect_storm_resumes_exactly(self):
        # 300 streams on 3 HTTP/2 connections; the storm resets every stream and reopens
        # it on the same connection.
        report, m = self.secure_run("--h2-streams", "100", "--reconnect-storm-at", "5")
        self.check_exact(report)
        self.assertIsNotNone(report["storm"], report)
        self.assertEqual(metric_sum(m, "sluice_http2_connections_total"), 3)
        self.assertGreaterEqual(metric_sum(m, "sluice_http2_streams_total"),
                                300 + report["storm"]["dropped"])

if __name__ == "__main__":
    unittest.main()
