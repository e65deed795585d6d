"""Shared helpers for sluice integration tests: run the real binary on a free loopback
port with a temp config (Gateway, GatewayTestCase), plus everything from harness_http
(raw-socket HTTP, publish, metrics) and harness_sse (SSE client), so test files import
from here only. Python standard library only; every wait is bounded."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from harness_http import (HOST, TOKEN, Conn, build_request, get_json,  # noqa: F401
                          free_port, http_request, metric_series, metric_sum, metrics,
                          parse_response, publish, publish_many, publish_position,
                          raw_exchange)
from harness_sse import SseClient, SseParser, ids  # noqa: F401

SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")

DEFAULT_ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /p/{id}
  poll:
    channel: c:{id}
"""


def source_dir():
    return os.environ.get("SLUICE_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def sluice_bin():
    path = os.environ.get("SLUICE_BIN")
    if path:
        if not os.access(path, os.X_OK):
            raise AssertionError(f"SLUICE_BIN={path} is not an executable file")
        return path
    path = os.path.join(source_dir(), "build", "sluice")
    if os.access(path, os.X_OK):
        return path
    raise unittest.SkipTest("SLUICE_BIN is not set and build/sluice does not exist")


def end_child(proc, timeout=5.0):
    """Ends a helper process the test started (a proxy, a tunnel): SIGTERM, then SIGKILL if
    it is still there after `timeout`. Only that PID is signalled."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def wait_until(fn, timeout=5.0, interval=0.05, what="condition"):
    """Polls fn() until it returns something truthy; returns it, or fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_metric(port, name, predicate, what=None, timeout=5.0, **labels):
    """Scrapes until predicate(sum of metric `name`, over the series whose labels include
    `labels`) holds; returns that scrape."""
    def probe():
        m = metrics(port)
        return m if predicate(metric_sum(m, name, **labels)) else None
    return wait_until(probe, timeout, 0.05, what or f"metric {name}")


def make_config(routes=DEFAULT_ROUTES, limits=None, defaults="", extra="", workers=1,
                broker="type: memory"):
    """A config on @PORT@ (memory broker unless `broker`, the YAML body of the broker
    section, says otherwise); `routes` is a YAML list, `limits` a dict."""
    broker = textwrap.indent(textwrap.dedent(broker).strip("\n"), "  ")
    text = (f"listen: {HOST}:@PORT@\nworkers: {workers}\nbroker:\n{broker}\n"
            f"publish:\n  token: {TOKEN}\naccess_log: stdout\nlog_level: info\n"
            "drain_timeout: 5s\n")
    if limits:
        text += "limits:\n" + "".join(f"  {k}: {v}\n" for k, v in limits.items())
    if defaults:
        text += "defaults:\n" + textwrap.indent(textwrap.dedent(defaults).strip("\n"), "  ")
        text += "\n"
    text += textwrap.dedent(extra).strip("\n") + "\n" if extra else ""
    return text + "routes:\n" + textwrap.dedent(routes).strip("\n") + "\n"


class Gateway:
    """Runs SLUICE_BIN -c <temp config> with stdout -> access.log, stderr -> error.log.
    Use as a context manager; the child is tracked by its PID only."""

    def __init__(self, config):
        self.config = config
        self.binary = sluice_bin()  # before mkdtemp: a missing binary leaves nothing behind
        self.dir = tempfile.mkdtemp(prefix="sluice-it-")
        self.config_path = os.path.join(self.dir, "sluice.yaml")
        self.access_path = os.path.join(self.dir, "access.log")
        self.error_path = os.path.join(self.dir, "error.log")
        self.port = None
        self.admin_port = None  # set when the config names @ADMIN_PORT@ (admin.listen)
        self.proc = None
        self.exit_code = None

    def write_config(self, text):
        """(Re)writes the config file; @PORT@, @ADMIN_PORT@ and @DIR@ are substituted."""
        text = text.replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
        text = text.replace("@ADMIN_PORT@", str(self.admin_port))
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, timeout=10.0):
        # Port 0: sluice binds a port nobody uses and logs it ("listening"), so no probe
        # of a free port can race with another process taking it. The same for the
        # admin listener when the config has one.
        self.port = 0
        self.admin_port = 0 if "@ADMIN_PORT@" in self.config else None
        self.write_config(self.config)
        with open(self.access_path, "wb") as out, open(self.error_path, "wb") as err:
            self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL, cwd=self.dir)
        self.port = self._bound_port(timeout, admin=False)
        if "@ADMIN_PORT@" in self.config:
            self.admin_port = self._bound_port(timeout, admin=True)
        if self.port and self._wait_healthy(timeout):
            return self
        self.dump_logs()
        code = self.proc.poll()
        self.cleanup()
        raise AssertionError(f"sluice did not become healthy (exit code {code})")

    def _bound_port(self, timeout, admin):
        """The port of the first "listening" line in the error log for a public listener
        (or with `admin` for the admin listener), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.error_log().splitlines():
                if '"listening"' in line:
                    try:
                        doc = json.loads(line)
                        if ("serves" in doc) == admin:
                            return int(doc["address"].rsplit(":", 1)[1])
                    except (ValueError, KeyError, IndexError):
                        pass
            if self.proc.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                # With an admin listener, the health check answers there only.
                port = self.admin_port or self.port
                if http_request(port, "GET", "/_sluice/health", timeout=1.0)[0] == 200:
                    return True
            except (OSError, ConnectionError, AssertionError, ValueError):
                pass
            time.sleep(0.05)
        self._kill()
        return False

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def url(self, path):
        return f"http://{HOST}:{self.port}{path}"

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10.0):
        """Exit code; kills the child and fails if it does not exit within timeout."""
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.dump_logs()
            raise AssertionError(f"sluice did not exit within {timeout}s; killed")
        return self.exit_code

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals the child, waits, and asserts a clean exit (status 0, no sanitizer)."""
        if self.running():
            self.send_signal(sig)
        if self.exit_code is None:  # also when the test signalled the child itself
            self.wait_exit(timeout)
        self.check_clean_exit()

    def check_clean_exit(self):
        problems = [] if self.exit_code == 0 else [f"exit status {self.exit_code}"]
        text = self.error_log()
        problems += [f"stderr contains {m!r}" for m in SANITIZER_MARKERS if m in text]
        if problems:
            self.dump_logs()
            raise AssertionError("sluice did not exit cleanly: " + "; ".join(problems))

    def error_log(self):
        with open(self.error_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def error_log_json(self):
        """The stderr lines that are JSON objects."""
        out = []
        for line in self.error_log().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def access_log_lines(self):
        """Every stdout line, parsed as JSON (a line that is not JSON fails the test)."""
        with open(self.access_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"access log line is not JSON: {line!r}")
        return out

    def wait_log(self, predicate, timeout=5.0, what="log line"):
        """The first JSON stderr line matching predicate, waiting up to timeout."""
        return wait_until(lambda: next((l for l in self.error_log_json() if predicate(l)), None),
                          timeout, what=what)

    def dump_logs(self, n=50):
        for title, path in (("error.log (stderr)", self.error_path),
                            ("access.log (stdout)", self.access_path)):
            try:
                with open(path, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            print(f"\n----- sluice {title}, last {n} lines -----", file=sys.stderr)
            print("\n".join(lines[-n:]), file=sys.stderr)

    def cleanup(self):
        self._kill()
        if not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        # `with Gateway(cfg).start() as gw` must not start a second, orphaned child.
        return self if self.running() else self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
            else:
                self.dump_logs()
                try:
                    self.stop()
                except AssertionError as e:
                    print(f"(while handling the failure) {e}", file=sys.stderr)
        finally:
            self.cleanup()
        return False


class GatewayTestCase(unittest.TestCase):
    """One gateway per test class (CONFIG); the logs are printed when a test fails and
    the clean exit is checked when the class is done."""

    CONFIG = None

    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(cls.CONFIG or make_config()).start()
        cls.port = cls.gw.port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.gw.cleanup()

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            self.gw.dump_logs()
        return out

    def channel_id(self, suffix=""):
        """A channel id unique to this test method (valid in a channel template)."""
        return self._testMethodName + suffix

    def sse(self, path, headers=None, timeout=5.0, **kw):
        client = SseClient(self.port, path, headers, timeout, **kw)
        self.addCleanup(client.close)
        return client
