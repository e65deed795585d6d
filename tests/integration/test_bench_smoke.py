"""A short run of bench/sluice-bench against the real gateway: a few hundred SSE
connections over several channels, events published over HTTP, one reconnect storm; every
event must arrive exactly once (0 lost, 0 duplicated, 0 reordered). Not a timing test."""

import json
import os
import subprocess
import unittest

from harness import TOKEN, Gateway, make_config

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
    def run_bench(self, port, *extra):
        args = [bench_bin(), "--json-only",
                "--url", f"http://127.0.0.1:{port}/bench/{{c}}/stream",
                "--publish", "http",
                "--publish-url", f"http://127.0.0.1:{port}/_sluice/publish/bench:{{c}}",
                "--token", TOKEN, "--connections", "300", "--channels", "6",
                "--ramp", "1000", "--rate", "200", "--size", "256", "--duration", "5", *extra]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertIn(done.returncode, (0, 1), done.stderr)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        return report

    def check_exact(self, report):
        self.assertEqual(report["connected"], 300, report)
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


if __name__ == "__main__":
    unittest.main()
