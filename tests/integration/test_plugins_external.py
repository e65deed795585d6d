"""Third-party plugins through the real binary: the example plugin (plugins/examples/
header_gate) is built out of tree with cmake against plugins/include alone, loaded from
plugins_dir, and seen at work: a request without its header answered 401 by the plugin,
a wrong value answered 403 with the plugin's own body, events dropped and rewritten on a
real SSE stream, its counters in /_sluice/metrics. Plugins that cannot be used (built for
another ABI version, exporting no entry point, refusing their options, absent) stop the
start-up and `sluice --check` with FILE:LINE:COL errors naming the file."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import (Gateway, GatewayTestCase, SseClient, build_request, http_request, make_config,
                     metric_sum, metrics, publish, sluice_bin, source_dir, wait_until)

WRONG_ABI = r"""
#include <stddef.h>
#include <sluice/plugin.h>
static void *create(const char *c, const sluice_host *h, char *e, size_t n) {
    (void)c; (void)h; (void)e; (void)n; return (void *)1;
}
static void destroy(void *i) { (void)i; }
/* As a plugin built against a future header would look: another version number first. */
static const sluice_plugin d = {SLUICE_PLUGIN_ABI_VERSION + 98, "future", 0, create, destroy,
                                NULL, NULL, NULL};
SLUICE_PLUGIN_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &d; }
"""

NO_ENTRY = "int not_a_plugin(void) { return 1; }\n"

# Returns SLUICE_SUSPEND without the flag SLUICE_PLUGIN_SUSPENDS (suspend gives it NULL).
UNFLAGGED = r"""
#include <stddef.h>
#include <sluice/plugin.h>
static const sluice_host *host;
static void *create(const char *c, const sluice_host *h, char *e, size_t n) {
    (void)c; (void)e; (void)n; host = h; return (void *)1;
}
static void destroy(void *i) { (void)i; }
static int head(void *i, const sluice_request *r, sluice_answer *a) {
    (void)i; (void)r;
    return host->suspend(a) == NULL ? SLUICE_SUSPEND : SLUICE_PASS;
}
static const sluice_plugin d = {SLUICE_PLUGIN_ABI_VERSION, "unflagged", 0, create, destroy,
                                head, NULL, NULL};
SLUICE_PLUGIN_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &d; }
"""


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{args} failed:\n{r.stdout}\n{r.stderr}")
    return r


def build_plugins(out):
    """header_gate.so and async_gate.so (the examples, cmake, out of tree), future.so (ABI
    100) and nothing.so (no entry)."""
    include = os.path.join(source_dir(), "plugins", "include")
    plugins = os.path.join(out, "plugins")
    os.makedirs(plugins)
    for example in ("header_gate", "async_gate"):
        src = os.path.join(source_dir(), "plugins", "examples", example)
        build = os.path.join(out, "build-" + example)
        run(["cmake", "-S", src, "-B", build, f"-DSLUICE_PLUGIN_INCLUDE={include}"])
        run(["cmake", "--build", build])
        shutil.copy(os.path.join(build, example + ".so"), plugins)
    for name, code in (("future", WRONG_ABI), ("nothing", NO_ENTRY), ("unflagged", UNFLAGGED)):
        c = os.path.join(out, name + ".c")
        with open(c, "w") as f:
            f.write(code)
        run(["cc", "-shared", "-fPIC", "-I", include, "-o", os.path.join(plugins, name + ".so"), c])
    return plugins


ROUTES = """
- path: /gated/{id}
  sse: {channel: "gated:{id}"}
  plugins:
    - header_gate: {require: X-Token, drop_types: [internal], redact: [password, secret]}
- path: /exact/{id}
  sse: {channel: "exact:{id}"}
  plugins:
    - header_gate:
        require: X-Token
        value: s3cret
- path: /later/{id}
  sse: {channel: "later:{id}"}
  plugins:
    - async_gate: {}
    - header_gate: {require: X-Token}
- path: /unflagged/{id}
  sse: {channel: "unflagged:{id}"}
  plugins:
    - unflagged: {}
"""


class ExternalPluginTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-ext-")
        cls.plugins = build_plugins(cls.tmp)
        cls.CONFIG = make_config(routes=ROUTES, extra=f"plugins_dir: {cls.plugins}\n", workers=2)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_request_without_the_header_is_answered_by_the_plugin(self):
        status, headers, body = http_request(self.port, "GET", "/gated/a")
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), {"error": "missing header X-Token", "status": 401})
        self.assertEqual(headers["x-header-gate"], "missing")
        m = metrics(self.port)
        self.assertGreaterEqual(metric_sum(m, "sluice_plugin_counter_total", plugin="header_gate",
                                           counter="denied_missing"), 1)

    def test_a_suspended_request_is_answered_by_the_plugins_later_decision(self):
        status, _, body = http_request(self.port, "GET", "/later/a")
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), {"error": "no X-Token (decided later)", "status": 401})

    def test_a_suspended_request_resumed_with_pass_runs_the_rest_of_the_chain(self):
        # async_gate lets it through from its own thread; header_gate (next) sees it too.
        before = metric_sum(metrics(self.port), "sluice_plugin_counter_total",
                            plugin="header_gate", counter="passed")
        client = SseClient(self.port, "/later/b", {"X-Token": "t"})
        self.addCleanup(client.close)
        self.assertEqual(client.status, 200)
        client.next_event(5, all_blocks=True)  # retry: subscribed
        publish(self.port, "later:b", '{"n":1}')
        self.assertEqual(client.next_event(5)["data"], '{"n":1}')
        m = metrics(self.port)
        self.assertGreaterEqual(metric_sum(m, "sluice_plugin_counter_total", plugin="async_gate",
                                           counter="passed"), 1)
        self.assertEqual(metric_sum(m, "sluice_plugin_counter_total", plugin="header_gate",
                                    counter="passed"), before + 1)

    def test_a_client_leaving_while_suspended_is_let_go(self):
        # Clients that leave before the plugin decides: their decisions are dropped.
        before = metric_sum(metrics(self.port), "sluice_plugin_counter_total",
                            plugin="async_gate", counter="passed")
        for n in range(20):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(build_request("GET", f"/later/gone{n}", {"X-Token": "t"}))
            sock.close()
        wait_until(lambda: metric_sum(metrics(self.port), "sluice_plugin_counter_total",
                                      plugin="async_gate", counter="passed") >= before + 20,
                   what="the plugin's decisions for the clients that left")
        # The gateway goes on serving (and, under ASan, leaks nothing at exit).
        self.assertEqual(http_request(self.port, "GET", "/later/c")[0], 401)

    def test_suspend_without_the_flag_is_answered_500_and_logged(self):
        status, _, body = http_request(self.port, "GET", "/unflagged/a")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body), {"error": "plugin unflagged failed", "status": 500})
        line = self.gw.wait_log(lambda l: l.get("msg") == "plugin broke the plugin ABI rules" and
                                l.get("plugin") == "unflagged")
        self.assertEqual(line["reason"], "returned SLUICE_SUSPEND without the flag SLUICE_PLUGIN_SUSPENDS")

    def test_wrong_value_gets_the_plugins_own_answer(self):
        status, headers, body = http_request(self.port, "GET", "/exact/a", {"X-Token": "nope"})
        self.assertEqual(status, 403)
        self.assertEqual(body, b"header_gate: wrong value\n")
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(headers["x-header-gate"], "wrong-value")
        client = self.sse("/exact/b", {"X-Token": "s3cret"})
        self.assertEqual(client.status, 200)

    def test_events_are_dropped_and_rewritten_per_subscriber(self):
        ch = self.channel_id()
        client = self.sse(f"/gated/{ch}", {"X-Token": "t"})
        self.assertEqual(client.status, 200)
        sent = ['{"type":"internal","n":1}', '{"type":"msg","text":"my password is a secret"}',
                '{"type":"msg","n":3}']
        for payload in sent:
            self.assertEqual(publish(self.port, f"gated:{ch}", payload)[0], 200)
        events = client.read_events(2)
        self.assertEqual([e["id"] for e in events], ["2", "3"])  # 1 dropped
        self.assertEqual(events[0]["data"], '{"type":"msg","text":"my *** is a ***"}')
        self.assertEqual(events[1]["data"], sent[2])
        self.assertGreaterEqual(metric_sum(metrics(self.port), "sluice_plugin_counter_total",
                                           plugin="header_gate", counter="passed"), 1)


class ReloadTest(unittest.TestCase):
    def test_reload_without_the_plugin_keeps_it_for_open_streams(self):
        tmp = tempfile.mkdtemp(prefix="sluice-ext-")
        self.addCleanup(shutil.rmtree, tmp, True)
        extra = f"plugins_dir: {build_plugins(tmp)}\n"
        gated = """
- path: /r/{id}
  sse: {channel: "r:{id}"}
  plugins:
    - header_gate: {redact: [secret]}
"""
        with Gateway(make_config(routes=gated, extra=extra)) as gw:
            old = SseClient(gw.port, "/r/a")
            try:
                gw.write_config(make_config(routes=gated.replace(
                    "  plugins:\n    - header_gate: {redact: [secret]}\n", ""), extra=extra))
                gw.send_signal(signal.SIGHUP)
                gw.wait_log(lambda l: l.get("msg") == "config reloaded", what="reload")
                fresh = SseClient(gw.port, "/r/a")
                try:
                    self.assertEqual(publish(gw.port, "r:a", "a secret")[0], 200)
                    # The stream opened before the reload still runs the plugin (its file
                    # stays loaded); the new one has none.
                    self.assertEqual(old.next_event()["data"], "a ***")
                    self.assertEqual(fresh.next_event()["data"], "a secret")
                finally:
                    fresh.close()
            finally:
                old.close()


class RefusedPluginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-ext-")
        cls.plugins = build_plugins(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def config(self, plugin_item, plugins_dir=None):
        text = make_config(routes=f"""
- path: /e/{{id}}
  sse: {{channel: "e:{{id}}"}}
  plugins:
    - {plugin_item}
""", extra=f"plugins_dir: {plugins_dir or self.plugins}\n").replace("@PORT@", "0")
        path = os.path.join(self.tmp, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path, text

    def position(self, text, needle):
        for n, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return f"{n}:{line.index(needle) + 1}"
        raise AssertionError(needle)

    def refused(self, path):
        """--check and a start both fail; their stderr."""
        check = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True,
                               text=True, timeout=10, stdin=subprocess.DEVNULL)
        self.assertNotEqual(check.returncode, 0, check.stderr)
        start = subprocess.run([sluice_bin(), "-c", path], capture_output=True, text=True,
                               timeout=10, stdin=subprocess.DEVNULL)
        self.assertNotEqual(start.returncode, 0, start.stderr)
        return check.stderr, start.stderr

    def test_plugin_for_another_abi_version_is_refused(self):
        path, text = self.config("future: {}")
        check, start = self.refused(path)
        so = os.path.join(self.plugins, "future.so")
        for err in (check, start):
            self.assertIn(f"{path}:{self.position(text, '{}')}: ", err)
            self.assertIn(f"plugin '{so}' was built for plugin ABI version 100; this sluice loads "
                          "version 2 only", err)

    def test_file_without_entry_point_is_refused(self):
        path, text = self.config("nothing:")
        check, start = self.refused(path)
        for err in (check, start):
            self.assertIn("nothing.so' is not a sluice plugin: it exports no sluice_plugin_entry", err)

    def test_options_the_plugin_refuses_are_errors_at_the_item(self):
        path, text = self.config("header_gate: {require: X-Token, colour: blue}")
        check, _ = self.refused(path)
        self.assertIn(f"{path}:{self.position(text, '{require')}: routes[0].plugins[0].header_gate: "
                      "unknown option 'colour' (header_gate takes require, value, drop_types, redact)",
                      check)
        path, text = self.config("header_gate: {value: x}")
        check, _ = self.refused(path)
        self.assertIn("value: needs require", check)

    def test_unknown_name_says_which_file_was_looked_for(self):
        path, text = self.config("nope: {}")
        check, _ = self.refused(path)
        self.assertIn(f"{path}:{self.position(text, 'nope')}: routes[0].plugins[0]: unknown plugin "
                      f"'nope' (built in: ", check)
        self.assertIn(f"no file {os.path.join(self.plugins, 'nope.so')})", check)

    def test_plugins_dir_must_be_a_folder(self):
        missing = os.path.join(self.tmp, "absent")
        path, text = self.config("cors: {origins: ['*']}", plugins_dir=missing)
        check, _ = self.refused(path)
        self.assertIn(f"plugins_dir: '{missing}' is not a folder", check)

    def test_good_plugin_passes_check(self):
        path, _ = self.config("header_gate: {require: X-Token}")
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
