"""Redis over TLS through a local tunnel (docs/tls.md, "Redis over TLS"): sluice cannot
speak rediss:// (Debian's hiredis has no TLS), so the documented way is HAProxy in front.
This runs the HAProxy excerpt from docs/tls.md itself (addresses and files substituted)
between sluice and a real redis-server that only accepts TLS (its `tls-port`), with a test
CA made by the openssl tool: an event published through sluice goes to Redis and back
(the command and the pub/sub connection both cross the tunnel) and reaches an SSE client.
The same excerpt with a CA that did not issue Redis's certificate never lets sluice
become ready: the tunnel verifies the server."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (HOST, Gateway, SseClient, end_child, free_port, http_request, make_config,
                     publish, source_dir, wait_until)
from test_tls_listen import make_ca, make_leaf


def haproxy_excerpt():
    with open(os.path.join(source_dir(), "docs", "tls.md")) as f:
        text = f.read()
    m = re.search(r"```\n(# /etc/haproxy/haproxy\.cfg \(excerpt\)\n.*?)```", text, re.S)
    assert m, "docs/tls.md has no HAProxy excerpt"
    return m.group(1)


class Child:
    """A child process tracked by its PID only."""

    def __init__(self, argv, log_path):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def stop(self):
        end_child(self.proc)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class RedisTlsTunnelTest(unittest.TestCase):
    def setUp(self):
        self.haproxy = shutil.which("haproxy")
        self.redis = shutil.which("redis-server")
        if not self.haproxy or not self.redis:
            # Both are part of the test suite (deploy/install-deps.sh --test): a failure.
            raise AssertionError("haproxy and redis-server are needed (deploy/install-deps.sh --test)")
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-redis-tls-")
        self.addCleanup(self.dir.cleanup)
        d = self.dir.name
        self.ca = make_ca(d)
        self.leaf = make_leaf(d, self.ca, "redis", "redis.internal")
        other = os.path.join(d, "other")
        os.mkdir(other)
        self.other_ca = make_ca(other)
        self.redis_port = free_port()
        child = Child([self.redis, "--port", "0", "--tls-port", str(self.redis_port), "--bind", HOST,
                       "--tls-cert-file", self.leaf[0], "--tls-key-file", self.leaf[1],
                       "--tls-ca-cert-file", self.ca[0], "--tls-auth-clients", "no",
                       "--save", "", "--appendonly", "no", "--dir", d],
                      os.path.join(d, "redis.log"))
        self.addCleanup(child.stop)
        wait_until(lambda: "Ready to accept connections" in child.log(), 10, what="redis (TLS) to start")

    def tunnel(self, ca_file):
        """HAProxy running the documented excerpt; returns its local port."""
        port = free_port()
        cfg = (haproxy_excerpt()
               .replace("127.0.0.1:6390", f"127.0.0.1:{port}")
               .replace("redis.internal:6380", f"127.0.0.1:{self.redis_port}")
               .replace("/etc/ssl/redis-ca.pem", ca_file))
        path = os.path.join(self.dir.name, f"haproxy-{port}.cfg")
        with open(path, "w") as f:
            f.write("global\n    log stderr format raw local0\n\n" + cfg)
        check = subprocess.run([self.haproxy, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        child = Child([self.haproxy, "-db", "-f", path], os.path.join(self.dir.name, f"haproxy-{port}.log"))
        self.addCleanup(child.stop)

        def listening():
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(listening, 10, what="haproxy to listen")
        return port

    def gateway(self, tunnel_port):
        config = make_config(broker=f"type: redis\nurl: redis://127.0.0.1:{tunnel_port}/0\n"
                                    "reconnect: {min: 100ms, max: 500ms}\n")
        gw = Gateway(config).start()
        self.addCleanup(gw.cleanup)
        self.addCleanup(gw.stop)
        return gw

    def test_events_cross_the_documented_haproxy_tunnel(self):
        gw = self.gateway(self.tunnel(self.ca[0]))
        wait_until(lambda: http_request(gw.port, "GET", "/_sluice/ready")[0] == 200, 10,
                   what="sluice ready through the tunnel")
        client = SseClient(gw.port, "/s/tunnel")
        try:
            self.assertEqual(client.status, 200)
            # Each worker has its own publishing link to Redis, which may come up just
            # after the subscriber (what /ready reports): a 503 until then publishes nothing.
            wait_until(lambda: publish(gw.port, "c:tunnel", "through TLS")[0] == 200, 10,
                       what="a publish through the tunnel")
            events = client.read_until(lambda e: e["data"] == "through TLS")
            self.assertEqual(events[-1]["data"], "through TLS")
        finally:
            client.close()

    def test_a_tunnel_that_does_not_trust_redis_never_connects(self):
        gw = self.gateway(self.tunnel(self.other_ca[0]))
        # Redis cannot be reached through it: sluice stays not ready, whatever it retries.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            self.assertEqual(http_request(gw.port, "GET", "/_sluice/ready")[0], 503)
            time.sleep(0.2)


if __name__ == "__main__":
    unittest.main()
