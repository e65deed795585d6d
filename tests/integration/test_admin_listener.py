"""admin: {listen: ADDRESS} (issue 14): with it, /_sluice/health, /_sluice/ready and
/_sluice/metrics answer on that listener only (404 on the public ones, never routed to a
proxy), and the admin listener serves nothing else. A change of the address needs a
restart (a reload warns and keeps the running listener); --check reports a bad or
overlapping address at its file:line:col."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import (TOKEN, Gateway, SseClient, http_request, make_config, metric_sum, metrics,
                     publish, sluice_bin, wait_until)
from upstreams import UpstreamServer

ADMIN = "admin:\n  listen: 127.0.0.1:@ADMIN_PORT@\n"
ENDPOINTS = ("/_sluice/health", "/_sluice/ready", "/_sluice/metrics")


class AdminListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = UpstreamServer("app").start()
        # A catch-all proxy route: the admin paths must not reach it on the public side.
        routes = ("- path: /s/{id}\n  sse:\n    channel: c:{id}\n"
                  "- prefix: /\n  proxy:\n    upstream: app\n")
        extra = ADMIN + f"upstreams:\n  app:\n    servers: [{cls.upstream.address}]\n"
        cls.gw = Gateway(make_config(routes=routes, extra=extra, workers=2)).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.gw.cleanup()
            cls.upstream.stop()

    def test_the_endpoints_answer_on_the_admin_listener(self):
        gw = self.gw
        self.assertNotEqual(gw.admin_port, gw.port)
        for _ in range(4):  # both workers accept on the admin address
            status, _, body = http_request(gw.admin_port, "GET", "/_sluice/health")
            self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        status, _, body = http_request(gw.admin_port, "GET", "/_sluice/ready")
        self.assertEqual((status, json.loads(body)), (200, {"ready": True}))
        status, headers, body = http_request(gw.admin_port, "GET", "/_sluice/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.assertIn("sluice_connections_open", body.decode())
        self.assertEqual(http_request(gw.admin_port, "HEAD", "/_sluice/health")[0], 200)
        status, headers, _ = http_request(gw.admin_port, "POST", "/_sluice/health", body="x")
        self.assertEqual((status, headers["allow"]), (405, "GET, HEAD"))

    def test_the_public_listener_answers_404_and_does_not_route_them(self):
        before = len(self.upstream.paths())
        for path in ENDPOINTS:
            status, _, body = http_request(self.gw.port, "GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(json.loads(body)["status"], 404)
        self.assertEqual(self.upstream.paths()[before:], [])
        # Everything else is served as before: the proxy route, publishing, streams.
        status, headers, _ = http_request(self.gw.port, "GET", "/echo")
        self.assertEqual((status, headers["x-upstream"]), (200, "app"))
        stream = SseClient(self.gw.port, "/s/adm")
        self.addCleanup(stream.conn.close)
        self.assertEqual(stream.status, 200)
        self.assertEqual(publish(self.gw.port, "c:adm", '{"n":1}')[0], 200)
        self.assertEqual(stream.next_event()["data"], '{"n":1}')

    def test_the_admin_listener_serves_nothing_else(self):
        before = len(self.upstream.paths())
        for method, path in (("GET", "/s/adm"), ("GET", "/echo"), ("GET", "/"),
                             ("POST", "/_sluice/publish/c:adm"), ("GET", "/_sluice/other")):
            status, _, body = http_request(self.gw.admin_port, method, path,
                                           headers={"Authorization": f"Bearer {TOKEN}"},
                                           body="{}" if method == "POST" else None)
            self.assertEqual(status, 404, (method, path))
            self.assertIn("admin listener serves only", json.loads(body)["error"])
        self.assertEqual(self.upstream.paths()[before:], [])

    def test_requests_on_both_listeners_are_counted(self):
        count = lambda route, status: metric_sum(metrics(self.gw.admin_port),
                                                 "sluice_http_requests_total", route=route,
                                                 status=status)
        health, missing = count("/_sluice/health", "200"), count("-", "404")
        http_request(self.gw.admin_port, "GET", "/_sluice/health")
        http_request(self.gw.port, "GET", "/_sluice/health")
        wait_until(lambda: count("/_sluice/health", "200") == health + 1 and
                   count("-", "404") == missing + 1, what="both requests counted")


class AdminListenerReloadTest(unittest.TestCase):
    def test_a_changed_admin_address_needs_a_restart(self):
        cfg = make_config(extra=ADMIN)
        with Gateway(cfg) as gw:
            running = gw.admin_port
            warnings = lambda: gw.error_log().count("take effect only after a restart")
            reloads = lambda: gw.error_log().count("config reloaded")
            other = running + 1 if running < 65535 else running - 1
            gw.write_config(cfg.replace("@ADMIN_PORT@", str(other)))
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: reloads() == 1, what="the reload")
            self.assertEqual(warnings(), 1, gw.error_log())
            self.assertIn('"keys":"admin.listen"', gw.error_log())
            # The running listener stays; the public one still does not serve the endpoints.
            self.assertEqual(http_request(running, "GET", "/_sluice/health")[0], 200)
            self.assertEqual(http_request(gw.port, "GET", "/_sluice/health")[0], 404)
            # Removing the section is a change too; putting the running value back is not.
            gw.write_config(make_config())
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: reloads() == 2, what="the second reload")
            self.assertEqual(warnings(), 2)
            self.assertEqual(http_request(gw.port, "GET", "/_sluice/ready")[0], 404)
            gw.write_config(cfg)
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: reloads() == 3, what="the third reload")
            self.assertEqual(warnings(), 2, gw.error_log())

    def test_without_admin_the_public_listener_serves_the_endpoints(self):
        with Gateway(make_config()) as gw:
            self.assertIsNone(gw.admin_port)
            for path in ENDPOINTS:
                self.assertEqual(http_request(gw.port, "GET", path)[0], 200, path)


class AdminConnectionBudgetTest(unittest.TestCase):
    """Probes and scrapes answer on the admin listener while clients hold every one of
    max_connections; the admin listener has its own bound (64 connections)."""

    def setUp(self):
        routes = "- path: /s/{id}\n  sse:\n    channel: c:{id}\n"
        self.gw = Gateway(make_config(routes=routes, extra=ADMIN,
                                      limits={"max_connections": 2})).start()
        self.addCleanup(self.gw.cleanup)
        self.addCleanup(self.gw.stop)
        self.held = []
        self.addCleanup(lambda: [c.close() for c in self.held])

    def test_the_admin_listener_answers_when_clients_fill_max_connections(self):
        gw = self.gw
        for i in range(2):
            self.held.append(SseClient(gw.port, f"/s/full{i}"))
            self.assertEqual(self.held[-1].status, 200)
        self.assertEqual(http_request(gw.port, "GET", "/s/full2")[0], 503)
        for path in ENDPOINTS:
            self.assertEqual(http_request(gw.admin_port, "GET", path)[0], 200, path)
        m = metrics(gw.admin_port)
        self.assertEqual(metric_sum(m, "sluice_connections_rejected_total"), 1)

    def test_the_admin_listener_has_its_own_bound(self):
        gw = self.gw
        idle = []
        try:
            for _ in range(64):
                idle.append(socket.create_connection(("127.0.0.1", gw.admin_port)))
            # Once sluice has accepted the 64, the next one is refused.
            wait_until(lambda: http_request(gw.admin_port, "GET", "/_sluice/health")[0] == 503,
                       what="a 65th admin connection to be refused with 503")
            gw.wait_log(lambda l: l.get("msg") == "connection refused"
                        and l.get("reason") == "admin listener connections")
            # Clients are not affected: the public listener has its own budget.
            self.held.append(SseClient(gw.port, "/s/x"))
            self.assertEqual(self.held[-1].status, 200)
        finally:
            for s in idle:
                s.close()
        wait_until(lambda: http_request(gw.admin_port, "GET", "/_sluice/health")[0] == 200,
                   what="the admin listener to answer again")


class AdminCheckTest(unittest.TestCase):
    def check(self, text):
        with tempfile.TemporaryDirectory(prefix="sluice-admin-") as d:
            path = os.path.join(d, "sluice.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True,
                               text=True, timeout=10, stdin=subprocess.DEVNULL)
            return r.returncode, r.stderr.replace(path, "FILE"), r.stdout

    def test_check_accepts_an_admin_listener(self):
        code, err, out = self.check("listen: 0.0.0.0:8080\nadmin:\n  listen: 127.0.0.1:9090\n"
                                    "broker: {type: redis}\n")
        self.assertEqual(code, 0, err)

    def test_check_reports_bad_admin_addresses_at_their_position(self):
        code, err, _ = self.check("listen: 0.0.0.0:8080\nbroker: {type: redis}\n"
                                  "admin:\n  listen: 127.0.0.1:8080\n  extra: 1\n")
        self.assertEqual(code, 1)
        self.assertEqual(err.splitlines(), [
            "FILE:4:11: admin.listen: '127.0.0.1:8080' overlaps the public listen address "
            "0.0.0.0:8080; the admin listener needs an address of its own",
            "FILE:5:3: unknown key 'extra' in admin"])
        code, err, _ = self.check("broker: {type: redis}\nadmin:\n  listen: 9090\n")
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("FILE:3:11: admin.listen: "), err)

    def test_an_admin_address_in_use_stops_the_start_with_a_log_line(self):
        with socket.socket() as busy, tempfile.TemporaryDirectory(prefix="sluice-admin-") as d:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            path = os.path.join(d, "sluice.yaml")
            with open(path, "w") as f:
                f.write(make_config(extra=f"admin:\n  listen: 127.0.0.1:{port}\n")
                        .replace("@PORT@", "0"))
            r = subprocess.run([sluice_bin(), "-c", path], capture_output=True, text=True,
                               timeout=10, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 1, r.stderr)
            line = next(json.loads(l) for l in r.stderr.splitlines() if "cannot listen" in l)
            self.assertIn(f"127.0.0.1:{port}", line["error"])


if __name__ == "__main__":
    unittest.main()
