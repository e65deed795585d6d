"""deploy/proxies: the front-proxy snippets. HAProxy's and nginx's are embedded in a full
config and checked by the tools themselves (`haproxy -c`, `nginx -t`), then run for real
in front of sluice: an SSE stream opened through the proxy receives an event published
afterwards, and the proxy keeps the SSE settings the snippets promise. Envoy is not
packaged in Debian: its snippet is only parsed, and its stream timeouts checked."""

import os
import re
import subprocess
import tempfile
import time
import unittest

from deploy_files import deploy_path, load_yaml_all, read, require_tool
from harness import (Gateway, SseClient, end_child, free_port, http_request, make_config,
                     metric_sum, metrics, publish, wait_until)

HAPROXY = deploy_path("proxies", "haproxy.cfg")
NGINX = deploy_path("proxies", "nginx.conf")
ENVOY = deploy_path("proxies", "envoy.yaml")
CLOUD = deploy_path("proxies", "cloud-load-balancers.md")


def haproxy_config(snippet, listen_port=None, sluice_port=None):
    """A complete haproxy.cfg around the snippet; with ports, bound to loopback."""
    if listen_port:
        snippet = snippet.replace("bind :80", f"bind 127.0.0.1:{listen_port}")
    if sluice_port:
        snippet = snippet.replace("127.0.0.1:8080", f"127.0.0.1:{sluice_port}")
    return ("global\n    log stderr format raw local0\n\n"
            "defaults\n    mode http\n    log global\n    timeout connect 5s\n"
            "    timeout client 30s\n    timeout server 30s\n\n" + snippet)


def nginx_config(snippet, prefix, listen_port=None, sluice_port=None):
    """A complete nginx.conf (http context around the snippet) writing under `prefix`."""
    if listen_port:
        snippet = snippet.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    if sluice_port:
        snippet = snippet.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{sluice_port};")
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log info;\n"
            "events { worker_connections 64; }\n"
            f"http {{\n    access_log off;\n{temp}{snippet}\n}}\n")


class ProxyInFront:
    """Runs a proxy process (by PID only) with a config file in a temp dir."""

    def __init__(self, argv, workdir):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=workdir)

    def stop(self):
        end_child(self.proc)
        with self.proc.stdout:
            return self.proc.stdout.read().decode(errors="replace")


class FrontProxyCase(unittest.TestCase):
    def run_through(self, start_proxy):
        """Starts sluice, then the proxy in front of it (start_proxy(proxy_port,
        sluice_port) -> ProxyInFront); an SSE stream through the proxy receives an event
        published after it opened, and a plain request is answered through it."""
        with Gateway(make_config()) as gw:
            port = free_port()
            proxy = start_proxy(port, gw.port)
            try:
                wait_until(lambda: self.answers(port), 10, what="the proxy to answer")
                stream = SseClient(port, "/s/through-proxy", timeout=10)
                try:
                    self.assertEqual(stream.status, 200, stream.body)
                    self.assertIn("text/event-stream", stream.headers["content-type"])
                    # sluice sees the stream before the event is published.
                    wait_until(lambda: self.stream_open(gw), 5, what="the stream at sluice")
                    self.assertEqual(publish(gw.port, "c:through-proxy", '{"n":1}')[0], 200)
                    event = stream.next_event(timeout=10)
                    self.assertIsNotNone(event, "no event through the proxy")
                    self.assertEqual((event["id"], event["data"]), ("1", '{"n":1}'))
                finally:
                    stream.conn.close()
            except BaseException:
                print(proxy.stop())
                raise
            proxy.stop()

    @staticmethod
    def answers(port):
        try:
            return http_request(port, "GET", "/p/x?position=0", timeout=2)[0] == 200
        except (OSError, AssertionError, ValueError):
            return False

    @staticmethod
    def stream_open(gw):
        return metric_sum(metrics(gw.port), "sluice_sse_streams_open") >= 1


class HaproxyTest(FrontProxyCase):
    def setUp(self):
        self.tool = require_tool("haproxy")
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-haproxy-")
        self.addCleanup(self.dir.cleanup)

    def check(self, text):
        path = os.path.join(self.dir.name, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([self.tool, "-c", "-f", path], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout + r.stderr

    def test_haproxy_accepts_the_snippet(self):
        code, out = self.check(haproxy_config(read(HAPROXY)))
        self.assertEqual(code, 0, out)

    def test_haproxy_check_catches_a_mistake_here(self):
        code, out = self.check(haproxy_config(read(HAPROXY).replace("timeout tunnel",
                                                                    "timeout tunel")))
        self.assertNotEqual(code, 0, out)

    def test_the_snippet_has_the_sse_settings(self):
        text = read(HAPROXY)
        for setting in ("timeout tunnel 1h", "timeout server 1h", "timeout client 1h",
                        "option httpchk", "uri /_sluice/ready"):
            self.assertIn(setting, text)

    def test_sse_through_haproxy(self):
        def start(port, sluice_port):
            path = os.path.join(self.dir.name, "run.cfg")
            with open(path, "w") as f:
                f.write(haproxy_config(read(HAPROXY), port, sluice_port))
            return ProxyInFront([self.tool, "-db", "-f", path], self.dir.name)
        self.run_through(start)


class NginxTest(FrontProxyCase):
    def setUp(self):
        self.tool = require_tool("nginx")
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-nginx-")
        self.addCleanup(self.dir.cleanup)
        self.prefix = self.dir.name

    def check(self, text):
        path = os.path.join(self.prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([self.tool, "-t", "-p", self.prefix, "-c", path],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def test_nginx_accepts_the_snippet(self):
        code, out = self.check(nginx_config(read(NGINX), self.prefix))
        self.assertEqual(code, 0, out)

    def test_nginx_check_catches_a_mistake_here(self):
        code, out = self.check(nginx_config(read(NGINX).replace("proxy_buffering off",
                                                                "proxy_bufering off"),
                                            self.prefix))
        self.assertNotEqual(code, 0, out)

    def test_the_snippet_has_the_sse_settings(self):
        text = read(NGINX)
        for setting in ("proxy_buffering off;", "proxy_http_version 1.1;",
                        'proxy_set_header Connection "";', "proxy_read_timeout 1h;"):
            self.assertIn(setting, text)

    def test_sse_through_nginx(self):
        def start(port, sluice_port):
            path = os.path.join(self.prefix, "run.conf")
            with open(path, "w") as f:
                f.write(nginx_config(read(NGINX), self.prefix, port, sluice_port))
            return ProxyInFront([self.tool, "-p", self.prefix, "-c", path], self.prefix)
        self.run_through(start)


class EnvoyAndCloudTest(unittest.TestCase):
    def test_envoy_snippet_turns_off_the_route_timeout(self):
        (doc,) = load_yaml_all(ENVOY)
        (listener,) = doc["static_resources"]["listeners"]
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        self.assertTrue(hcm["@type"].endswith("HttpConnectionManager"))
        (vhost,) = hcm["route_config"]["virtual_hosts"]
        (route,) = vhost["routes"]
        self.assertEqual(route["route"]["timeout"], "0s")
        # Idle timeouts above sluice's default heartbeat (15s).
        for t in (route["route"]["idle_timeout"], hcm["stream_idle_timeout"]):
            self.assertGreater(int(re.fullmatch(r"(\d+)s", t).group(1)), 15)
        (cluster,) = doc["static_resources"]["clusters"]
        self.assertEqual(route["route"]["cluster"], cluster["name"])

    def test_cloud_note_covers_idle_timeouts_and_heartbeats(self):
        text = read(CLOUD)
        for word in ("idle timeout", "heartbeat", "/_sluice/ready", "drain_timeout"):
            self.assertIn(word, text)


if __name__ == "__main__":
    unittest.main()
