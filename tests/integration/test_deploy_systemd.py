"""deploy/systemd/sluice.service: `systemd-analyze verify` accepts it (with the built
binary in place of /usr/local/bin/sluice, since verify checks that the commands exist),
its sandboxing scores as hardened by `systemd-analyze security`, and it has what the
docs promise: --check before start and reload, SIGHUP reload, SIGTERM stop with a
TimeoutStopSec above drain_timeout, a file limit for 100k connections, no root."""

import os
import re
import subprocess
import tempfile
import unittest

from deploy_files import (deploy_path, drain_timeout_ms, duration_ms, read, require_tool)
from harness import sluice_bin, source_dir

UNIT = deploy_path("systemd", "sluice.service")
INSTALLED = "/usr/local/bin/sluice"


def unit_entries(text):
    """[(section, key, value)] in file order (repeated keys kept)."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


class SystemdUnitTest(unittest.TestCase):
    def setUp(self):
        self.text = read(UNIT)
        self.entries = unit_entries(self.text)

    def values(self, key, section="Service"):
        return [v for s, k, v in self.entries if s == section and k == key]

    def value(self, key, section="Service"):
        vals = self.values(key, section)
        self.assertEqual(len(vals), 1, f"{key}= should be set once, got {vals}")
        return vals[0]

    def verify(self, text):
        """systemd-analyze verify on `text` as sluice.service: (exit code, output)."""
        tool = require_tool("systemd-analyze")
        with tempfile.TemporaryDirectory(prefix="sluice-unit-") as d:
            path = os.path.join(d, "sluice.service")
            with open(path, "w") as f:
                f.write(text.replace(INSTALLED, sluice_bin()))
            r = subprocess.run([tool, "verify", path], capture_output=True, text=True,
                               timeout=60, cwd=d)
            return r.returncode, (r.stdout + r.stderr).strip()

    def test_systemd_analyze_verify_accepts_the_unit(self):
        code, out = self.verify(self.text)
        # verify exits 0 on some problems it only warns about: any line about the unit
        # is a finding.
        findings = [l for l in out.splitlines() if "sluice.service" in l]
        self.assertEqual((code, findings), (0, []), out)

    def test_verify_catches_a_mistake_here(self):
        # The check above means something only if verify reports errors in this
        # environment: a misspelt value must fail it.
        code, out = self.verify(self.text.replace("ProtectSystem=strict", "ProtectSystem=strikt"))
        findings = [l for l in out.splitlines() if "sluice.service" in l]
        self.assertTrue(code != 0 or findings, out)

    def test_the_sandbox_scores_as_hardened(self):
        tool = require_tool("systemd-analyze")
        with tempfile.TemporaryDirectory(prefix="sluice-unit-") as d:
            path = os.path.join(d, "sluice.service")
            with open(path, "w") as f:
                f.write(self.text.replace(INSTALLED, sluice_bin()))
            # Exposure 0.0 (locked down) .. 10.0 (unprotected); "OK" is below 5.
            r = subprocess.run([tool, "security", "--offline=yes", "--threshold=20", path],
                               capture_output=True, text=True, timeout=60, cwd=d)
        level = re.search(r"Overall exposure level for sluice.service: ([\d.]+)", r.stdout)
        self.assertIsNotNone(level, r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, f"exposure {level.group(1)} is above 2.0")

    def test_start_and_reload_check_the_config_first(self):
        config = "-c /etc/sluice/sluice.yaml"
        self.assertEqual(self.value("ExecStartPre"), f"{INSTALLED} --check {config}")
        self.assertEqual(self.value("ExecStart"), f"{INSTALLED} {config}")
        self.assertEqual(self.values("ExecReload"),
                         [f"{INSTALLED} --check {config}", "/bin/kill -HUP $MAINPID"])

    def test_stop_drains_within_the_stop_timeout(self):
        self.assertEqual(self.value("KillSignal"), "SIGTERM")
        stop_ms = duration_ms(self.value("TimeoutStopSec"))
        # The default drain_timeout and the one of the config the unit's comment suggests.
        for drain in (10_000, drain_timeout_ms(read(os.path.join(source_dir(), "conf",
                                                                 "redis.yaml")))):
            self.assertGreater(stop_ms, drain + 5_000)

    def test_runs_unprivileged_with_room_for_100k_connections(self):
        self.assertEqual(self.value("DynamicUser"), "yes")
        self.assertEqual(self.value("NoNewPrivileges"), "yes")
        self.assertEqual(self.value("ProtectSystem"), "strict")
        self.assertEqual(self.value("CapabilityBoundingSet"), "")
        self.assertGreaterEqual(int(self.value("LimitNOFILE")), 100_000 + 1024)


if __name__ == "__main__":
    unittest.main()
