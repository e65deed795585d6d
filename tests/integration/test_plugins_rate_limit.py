"""The rate_limit plugin through the real binary (two workers: one filter shared by both):
429 with Retry-After and a JSON error over the request rate, X-Forwarded-For honoured only
from trusted proxies, the cap on open streams counted on SSE streams and held polls and
given back once when each ends, and its option errors from `sluice --check`."""

import json
import os
import socket
import subprocess
import tempfile
import unittest
from datetime import datetime

from harness import (GatewayTestCase, build_request, http_request, make_config, metric_sum,
                     metrics, sluice_bin, wait_metric, wait_until)

ROUTES = """
- path: /slow/{id}
  poll: {channel: "slow:{id}"}
  plugins:
    - rate_limit: {requests_per_second: 0.01, burst: 2}
- path: /behind/{id}
  poll: {channel: "behind:{id}"}
  plugins:
    - rate_limit: {requests_per_second: 0.01, burst: 1, trusted_proxies: [127.0.0.1/32]}
- path: /streams/{id}
  sse: {channel: "streams:{id}"}
  plugins:
    - rate_limit: {max_streams: 2}
- path: /held/{id}
  poll: {channel: "held:{id}", max_wait: 30s}
  plugins:
    - rate_limit: {max_streams: 1}
- path: /counted/{id}
  poll: {channel: "counted:{id}"}
  plugins:
    - rate_limit: {requests_per_second: 0.01, burst: 1}
"""


class HeldRequest:
    """A request whose answer does not come yet (an SSE stream, a held poll): the socket
    stays open until close()."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(build_request("GET", path, {}))

    def first_line(self):
        data = b""
        while b"\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode()

    def close(self):
        self.sock.close()


class RateLimitTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES, workers=2)

    def held(self, path):
        h = HeldRequest(self.port, path)
        self.addCleanup(h.close)
        return h

    def test_over_the_rate_is_429_with_retry_after_and_json_error(self):
        for _ in range(2):  # the burst
            status, _, _ = http_request(self.port, "GET", "/slow/a?position=0")
            self.assertEqual(status, 200)
        status, headers, body = http_request(self.port, "GET", "/slow/a?position=0")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body), {"error": "rate limit exceeded", "status": 429})
        self.assertIn("application/json", headers["content-type"])
        # One token every 100 s: the wait for it, rounded up to whole seconds.
        self.assertTrue(90 <= int(headers["retry-after"]) <= 100, headers["retry-after"])

    def test_forwarded_client_counts_only_behind_a_trusted_proxy(self):
        # The test client connects from 127.0.0.1, a trusted proxy here: each forwarded
        # client has its own bucket of one request.
        def get(xff):
            return http_request(self.port, "GET", "/behind/a?position=0",
                                {"X-Forwarded-For": xff})[0]
        self.assertEqual(get("198.51.100.1"), 200)
        self.assertEqual(get("198.51.100.1"), 429)
        self.assertEqual(get("198.51.100.2"), 200)
        # Addresses a client writes left of the proxy's own entry are not believed.
        self.assertEqual(get("198.51.100.99, 198.51.100.1"), 429)
        self.assertEqual(get("203.0.113.5, 127.0.0.1"), 200)  # trusted hops are skipped

    def test_stream_cap_is_given_back_once_per_stream(self):
        a = self.held("/streams/a")
        b = self.held("/streams/b")
        self.assertIn(" 200 ", a.first_line())
        self.assertIn(" 200 ", b.first_line())
        status, headers, body = http_request(self.port, "GET", "/streams/c")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body), {"error": "too many open streams", "status": 429})
        self.assertIn("retry-after", headers)
        a.close()
        # Once a's close reaches the filter, one stream is free again, and only one: a
        # close counted twice would let a fourth stream in.
        c = wait_until(lambda: self._open_ok("/streams/c"), what="a stream after a close")
        self.addCleanup(c.close)
        self.assertEqual(http_request(self.port, "GET", "/streams/d")[0], 429)

    def _open_ok(self, path):
        h = HeldRequest(self.port, path)
        if " 200 " in h.first_line():
            return h
        h.close()
        return None

    def decisions(self, decision):
        return metric_sum(metrics(self.port), "sluice_plugin_decisions_total",
                          plugin="rate_limit", route="/counted/{id}", decision=decision)

    def test_decisions_are_counted_and_refusals_logged_without_flooding(self):
        self.assertEqual(self.decisions("rate_limited"), 0)  # exported before any request
        statuses = [http_request(self.port, "GET", "/counted/a?position=0",
                                 {"X-Request-Id": f"counted-{n}"})[0] for n in range(4)]
        self.assertEqual(statuses, [200, 429, 429, 429])
        self.assertEqual(self.decisions("allow"), 1)
        self.assertEqual(self.decisions("rate_limited"), 3)
        self.assertEqual(self.decisions("too_many_streams"), 0)
        # The first refusal is logged; later ones only once a second has passed since the
        # last line (a client over its limit must not be able to flood the log).
        line = self.gw.wait_log(lambda l: l.get("msg") == "request refused by a plugin" and
                                l.get("route") == "/counted/{id}")
        self.assertEqual((line["plugin"], line["status"], line["reason"]),
                         ("rate_limit", 429, "rate limit exceeded"))
        times = [datetime.strptime(l["ts"], "%Y-%m-%dT%H:%M:%S.%fZ") for l in self.gw.error_log_json()
                 if l.get("msg") == "request refused by a plugin" and l.get("route") == "/counted/{id}"]
        for earlier, later in zip(times, times[1:]):
            self.assertGreaterEqual((later - earlier).total_seconds(), 0.99, times)

    def test_held_polls_count_as_streams(self):
        first = self.held("/held/a?position=0&wait=30")
        # Held (and so counted) before the second poll is sent: with two workers the
        # second poll could otherwise be taken first and the held one refused.
        wait_metric(self.port, "sluice_poll_waiting", lambda v: v == 1, "the first poll held")
        # The held poll answers nothing yet; a second poll from the same client is refused.
        wait_until(lambda: http_request(self.port, "GET", "/held/b?position=0")[0] == 429,
                   what="the second poll refused while the first is held")
        first.close()
        wait_until(lambda: http_request(self.port, "GET", "/held/b?position=0")[0] == 200,
                   what="a poll once the held one has gone")


def check(text):
    with tempfile.TemporaryDirectory(prefix="sluice-rl-") as d:
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@PORT@", "0"))
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        return r.returncode, r.stderr.replace(path, "FILE")


class RateLimitOptionsTest(unittest.TestCase):
    def config(self, options, kind='sse: {channel: "e:{id}"}'):
        return make_config(routes=f"""
- path: /e/{{id}}
  {kind}
  plugins:
    - rate_limit: {options}
""")

    def line_col(self, text, needle):
        for n, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return n, line.index(needle) + 1
        raise AssertionError(needle)

    def assert_error(self, text, needle, message):
        code, err = check(text)
        self.assertNotEqual(code, 0)
        line, col = self.line_col(text, needle)
        self.assertIn(f"FILE:{line}:{col}: {message}", err)

    def test_bad_values_are_reported_at_their_position(self):
        t = self.config("{requests_per_second: -1}")
        self.assert_error(t, "-1", "routes[0].plugins[0].rate_limit.requests_per_second: must be "
                                   "a number above 0")
        t = self.config("{requests_per_second: 5, burst: 0}")
        self.assert_error(t, "0}", "routes[0].plugins[0].rate_limit.burst: must be between 1 and")
        t = self.config("{max_streams: 1, trusted_proxies: [10.0.0.0/99]}")
        self.assert_error(t, "[10.0", "routes[0].plugins[0].rate_limit.trusted_proxies: "
                                      "'10.0.0.0/99': the prefix length is at most 32")
        t = self.config("{max_streams: 1, trusted_proxies: [not-an-address]}")
        self.assert_error(t, "[not", "routes[0].plugins[0].rate_limit.trusted_proxies: "
                                     "'not-an-address' is not an address or CIDR")
        t = self.config("{max_streams: 1}", kind="static: {root: /tmp}")
        self.assert_error(t, "max_streams", "routes[0].plugins[0].rate_limit.max_streams: counts "
                                            "streams, so only sse and poll routes take it")

    def test_good_options_pass(self):
        code, err = check(self.config("{requests_per_second: 2.5, burst: 5, max_streams: 4, "
                                      "max_clients: 1000, trusted_proxies: [10.0.0.0/8, '::1']}"))
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main()
