"""The chaos soak (bench/soak/) in its 30-second version: two sluice instances on one
real redis-server, a few hundred SSE and poll clients resuming across instances,
publishers in both modes, pub/sub kills, SIGHUP reloads, a restart of Redis and of one
instance. It fails on any duplicate, reorder, silent hole or ill-formed gap, on an
unclean exit (LeakSanitizer included when SLUICE_BIN is an ASan build), and on memory
left behind. The checker tests below prove that each kind of violation is caught.
Not skipped when redis-server is missing: that is a failure."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import sluice_bin, source_dir

SOAK_DIR = os.path.join(source_dir(), "bench", "soak")
sys.path.insert(0, SOAK_DIR)

from soaklib import check  # noqa: E402


def payload(channel, counter, kind="soak"):
    return json.dumps({"type": kind, "ch": channel, "c": counter})


class LedgerCase(unittest.TestCase):
    """A made-up channel and one client's ledger; publish() acks counters."""

    MODE = check.SEQ

    def setUp(self):
        self.report = check.Report()
        self.log = check.ChannelLog("soak:t", self.MODE, event_every=0)
        self.ledger = check.StreamLedger("client", self.log, self.report, 100)
        self.ledger.start_session(("A", 1))

    def publish(self, n, status=check.ACKED, t=0.0, receivers=2):
        """Publishes n events; sequenced positions follow the counters."""
        out = []
        for _ in range(n):
            c = self.log.new_counter()
            if self.MODE == check.SEQ:
                self.log.record(c, status, t, position=c if status == check.ACKED else None)
            else:
                self.log.record(c, status, t, receivers=receivers, expected=2)
            out.append(c)
        return out

    def deliver(self, *pairs):
        """(id, counter) events in order."""
        for eid, c in pairs:
            self.ledger.on_event(eid, None, payload(self.log.name, c), 1.0)

    def verdict(self, outages=()):
        self.ledger.finish(list(outages))
        return self.report.violation_counts


class SequencedChecks(LedgerCase):

    def test_exact_stream_passes(self):
        self.publish(5)
        self.deliver(*[(i, i) for i in range(1, 6)])
        self.assertEqual(self.verdict(), {})

    def test_duplicate_is_caught(self):
        self.publish(3)
        self.deliver((1, 1), (2, 2), (2, 2), (3, 3))
        self.assertIn(check.DUPLICATE, self.verdict())

    def test_reorder_is_caught(self):
        self.publish(3)
        self.deliver((1, 1), (3, 3), (2, 2))
        self.assertIn(check.REORDER, self.verdict())

    def test_silent_hole_is_caught(self):
        self.publish(4)
        self.deliver((1, 1), (2, 2), (4, 4))
        self.assertEqual(self.verdict(), {check.SILENT_HOLE: 1})

    def test_hole_of_a_failed_publish_is_not_a_violation(self):
        self.publish(1)
        self.publish(1, status=check.FAILED)  # counter 2: Redis answered an error
        self.log.record(3, check.ACKED, 0.0, position=2)
        self.log.next_counter = 4
        self.deliver((1, 1), (2, 3))
        self.assertEqual(self.verdict(), {})
        self.assertEqual(self.report.losses, {check.LOSS_FAILED: 1})

    def test_wrong_position_is_caught(self):
        self.publish(2)
        self.ledger.on_event(1, None, payload(self.log.name, 2), 1.0)
        self.assertIn(check.WRONG_POSITION, self.verdict())

    def test_evicted_gap_passes_and_is_counted(self):
        self.publish(300, t=0.0)
        self.deliver((1, 1))
        self.ledger.on_gap(2, 200, False, 5.0)  # Redis keeps 100: 201..300
        self.deliver(*[(i, i) for i in range(201, 301)])
        self.assertEqual(self.verdict(), {})
        self.assertEqual(self.report.gaps, {check.GAP_EVICTED: 1})

    def test_gap_over_events_redis_still_holds_is_caught(self):
        self.publish(10)
        self.deliver((1, 1))
        self.ledger.on_gap(2, 5, False, 5.0)
        self.deliver(*[(i, i) for i in range(6, 11)])
        self.assertEqual(self.verdict(), {check.NEEDLESS_GAP: 1})

    def test_gap_that_does_not_start_after_the_resume_point_is_caught(self):
        self.publish(5)
        self.deliver((1, 1), (2, 2), (3, 3))
        self.ledger.on_gap(3, 3, False, 2.0)  # an instance whose head is 2
        self.assertIn(check.BAD_GAP, self.verdict())

    def test_reset_gap_without_flag_is_caught(self):
        self.publish(3)
        self.deliver((1, 1), (2, 2), (3, 3))
        self.ledger.on_gap(1, 3, False, 2.0)
        self.assertIn(check.BAD_GAP, self.verdict())
        self.assertIn("reset", self.report.violations[check.BAD_GAP][0]["hint"])

    def test_gap_on_a_fresh_stream_is_caught(self):
        self.publish(3)
        self.ledger.on_gap(1, 2, False, 1.0)
        self.assertIn(check.GAP_ON_FRESH, self.verdict())

    def test_foreign_payload_is_caught(self):
        self.publish(1)
        self.ledger.on_event(1, None, payload("soak:other", 1), 1.0)
        self.ledger.on_event(2, None, "not json", 1.0)
        self.assertEqual(self.verdict(), {check.UNKNOWN_EVENT: 2})


class PlainChecks(LedgerCase):
    MODE = check.PLAIN

    def test_reset_gap_with_flag_passes(self):
        self.publish(6)
        self.deliver((1, 1), (2, 2), (3, 3))
        self.ledger.start_session(("A", 2))  # the instance restarted: positions start over
        self.ledger.on_gap(1, 3, True, 2.0)
        self.deliver((1, 5), (2, 6))
        self.assertEqual(self.verdict(), {})
        self.assertEqual(self.report.gaps, {check.GAP_RESET: 1})

    def test_silent_hole_outside_outages_is_caught(self):
        self.publish(3, t=10.0)
        self.deliver((1, 1), (2, 3))
        self.assertEqual(self.verdict(outages=[(0.0, 5.0, "pub/sub kill")]),
                         {check.SILENT_HOLE: 1})

    def test_hole_in_an_outage_window_is_a_counted_loss(self):
        self.publish(3, t=4.0)
        self.deliver((1, 1), (2, 3))
        self.assertEqual(self.verdict(outages=[(3.0, 5.0, "pub/sub kill")]), {})
        self.assertEqual(self.report.losses, {check.LOSS_PLAIN_OUTAGE: 1})
        self.assertFalse(self.report.ok(strict_plain=True))

    def test_position_reused_for_a_new_event_is_caught(self):
        self.publish(3)
        self.deliver((1, 1), (2, 2), (2, 3))
        self.assertIn(check.POSITION_REUSE, self.verdict())


class SoakRun(unittest.TestCase):
    """bench/soak/run_soak.py --quick: about 30 s of load plus start and end."""

    def test_30_second_chaos_soak(self):
        redis = shutil.which("redis-server")
        self.assertIsNotNone(redis, "redis-server is not installed: the soak needs it "
                                    "(deploy/install-deps.sh --test installs it)")
        binary = sluice_bin()
        out = tempfile.mkdtemp(prefix="sluice-soak-test-")
        if not os.environ.get("SLUICE_KEEP_TMP"):  # the harness's switch to keep logs
            self.addCleanup(shutil.rmtree, out, True)
        result_path = os.path.join(out, "result.json")
        args = [sys.executable, os.path.join(SOAK_DIR, "run_soak.py"), "--quick", "--quiet",
                "--sluice", binary, "--redis-server", redis, "--json-out", result_path,
                "--workdir", os.path.join(out, "run")]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired as e:
            self.fail(f"the soak did not finish within 240 s: {e.stderr}")
        summary = done.stderr[-12000:] + (
            "" if os.environ.get("SLUICE_KEEP_TMP") else
            "\n(the soak's work directory is removed; SLUICE_KEEP_TMP=1 keeps its logs)")
        self.assertIn(done.returncode, (0, 1), summary)
        with open(result_path) as f:
            result = json.load(f)
        self.assertGreater(result["events_received"], 0, summary)
        self.assertEqual(result["violation_counts"], {}, summary)
        self.assertEqual(done.returncode, 0, summary)


if __name__ == "__main__":
    unittest.main()
