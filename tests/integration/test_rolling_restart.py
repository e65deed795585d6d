"""A rolling restart (bench/rolling/rolling_restart.py --quick): three sluice instances
behind a real haproxy on one real redis-server, 300 EventSource-like clients, sequenced
events flowing while each instance in turn is stopped with SIGTERM (paced drain) and
started again. Every client must end with every event of its channel exactly once and
in order, and every instance must exit 0. The checks below prove the client catches a
duplicate, a hole and a gap event. Not skipped when haproxy or redis-server is missing:
that is a failure (deploy/install-deps.sh --test installs both)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import sluice_bin, source_dir

ROLLING_DIR = os.path.join(source_dir(), "bench", "rolling")
sys.path.insert(0, ROLLING_DIR)

import rolling_restart  # noqa: E402


class FakeRun:
    class opts:
        channels = 1


class ClientCheckTest(unittest.TestCase):
    def client_after(self, *events):
        c = rolling_restart.Client(FakeRun, 0)
        for eid, name in events:
            c.on_event(eid, name)
        return c

    def test_events_in_order_pass(self):
        self.assertEqual(self.client_after((1, None), (2, None), (3, "tick")).violations, [])

    def test_duplicate_is_caught(self):
        self.assertEqual(self.client_after((1, None), (2, None), (2, None)).violations,
                         [("duplicate", 2, 2)])

    def test_hole_is_caught(self):
        self.assertEqual(self.client_after((1, None), (3, None)).violations, [("hole", 1, 3)])

    def test_gap_event_is_caught(self):
        self.assertEqual(self.client_after((1, None), (2, "gap")).violations, [("gap", 1, 2)])

    def test_peak_rate_counts_the_busiest_window(self):
        times = [0.0, 0.01, 0.02, 0.5, 2.0]
        self.assertEqual(rolling_restart.peak_rate(times, 0.1), 30)
        self.assertEqual(rolling_restart.peak_rate(times, 1.0), 4)


class RollingRestartRun(unittest.TestCase):
    def test_paced_rolling_restart_loses_and_repeats_nothing(self):
        for tool in ("redis-server", "haproxy"):
            self.assertTrue(shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}"),
                            f"{tool} is not installed (deploy/install-deps.sh --test)")
        out = tempfile.mkdtemp(prefix="sluice-rolling-test-")
        self.addCleanup(shutil.rmtree, out, True)
        result_path = os.path.join(out, "result.json")
        args = [sys.executable, os.path.join(ROLLING_DIR, "rolling_restart.py"), "--quick",
                "--sluice", sluice_bin(), "--json", result_path]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired as e:
            self.fail(f"the rolling restart did not finish within 240 s: {e.stderr}")
        summary = done.stdout[-6000:] + done.stderr[-6000:]
        self.assertEqual(done.returncode, 0, summary)
        with open(result_path) as f:
            (result,) = json.load(f)
        self.assertEqual(result["violations"], 0, summary)
        self.assertEqual(result["clients_behind"], 0, summary)
        self.assertEqual([code for _, code in result["exit_codes"]], [0, 0, 0], summary)
        # Each restart moved clients: a third of them at least once in all.
        self.assertGreaterEqual(result["reconnects"], result["clients"] // 3, summary)
        self.assertGreater(result["events_per_channel"], 0, summary)


if __name__ == "__main__":
    unittest.main()
