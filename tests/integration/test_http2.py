"""HTTP/2 to clients, against the real binary with real clients: curl --http2 over TLS
(ALPN h2) and --http2-prior-knowledge on an h2c listener for every route kind (sse, poll,
publish, proxy to an HTTP/1.1 upstream, static, admin); h2load for many streams on few
connections; several SSE streams on one connection each receiving its own events (a
frame-level client, h2raw.py); a stream whose window stays shut is reset while another on
the same connection keeps receiving; an upstream's event stream passes through a proxy
route as it comes; drain sends GOAWAY and ends the streams; the
HTTP/1.1 fallbacks (ALPN http/1.1, no preface on an h2c listener) and the metrics.
The attack cases are in test_http2_limits.py."""

import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from h2raw import CANCEL, H2Raw, SETTINGS_INITIAL_WINDOW_SIZE
from harness import (TOKEN, Gateway, make_config, metric_sum, metrics, publish_position,
                     wait_metric, wait_until)
from test_tls_listen import TlsTestBase, der_of, make_ca, make_leaf, single, tls_config, tls_port
from upstreams import UpstreamServer

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /p/{id}
  poll:
    channel: c:{id}
- prefix: /api/
  proxy:
    upstream: app
- prefix: /static/
  static:
    root: @DIR@/site
"""


def h2_config(tls_files, limits=None, upstream=None, extra_listen="", defaults=""):
    """A plain HTTP/1.1 listener (the harness's port), a TLS listener (h2 by default) and
    an h2c listener (`http2: true`)."""
    extra = f"upstreams:\n  app:\n    servers: [{upstream}]\n" if upstream else ""
    routes = ROUTES if upstream else ROUTES.split("- prefix: /api/")[0] + ROUTES.split("upstream: app\n")[1]
    text = make_config(routes=routes, limits=limits, extra=extra, defaults=defaults)
    listen = ("listen:\n  - 127.0.0.1:@PORT@\n"
              f"  - address: 127.0.0.1:0\n    tls: {single(tls_files)}\n"
              "  - {address: 127.0.0.1:0, http2: true}\n" + extra_listen)
    return text.replace("listen: 127.0.0.1:@PORT@\n", listen)


def listener_ports(gw):
    """(TLS port, h2c port) from the "listening" lines."""
    def find():
        tls = h2c = None
        for doc in gw.error_log_json():
            if doc.get("msg") != "listening":
                continue
            port = int(doc["address"].rsplit(":", 1)[1])
            if doc.get("tls"):
                tls = port
            elif doc.get("h2c"):
                h2c = port
        return (tls, h2c) if tls and h2c else None
    return wait_until(find, 5, what="the TLS and h2c listening lines")


def have_tool(name):
    return shutil.which(name) is not None


class Http2Base(TlsTestBase):
    def start(self, limits=None, upstream=None, defaults=""):
        site = os.path.join(self.dir.name, "site")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "hello.txt"), "w") as f:
            f.write("hello over h2\n")
        cfg = h2_config(self.leaf, limits, upstream, defaults=defaults).replace("@DIR@/site", site)
        gw = self.gateway(cfg)
        self.tls_port, self.h2c_port = listener_ports(gw)
        return gw

    def curl(self, path, *args, h2c=False, timeout=10):
        """curl over HTTP/2: --http2 over TLS with the test CA, or --http2-prior-knowledge
        on the h2c listener. (exit code, stdout, stderr); stdout ends with the status and
        HTTP version (-w)."""
        if h2c:
            url = f"http://127.0.0.1:{self.h2c_port}{path}"
            mode = ["--http2-prior-knowledge"]
        else:
            url = f"https://localhost:{self.tls_port}{path}"
            mode = ["--http2", "--cacert", self.ca[0], "--resolve", f"localhost:{self.tls_port}:127.0.0.1"]
        r = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *mode, "-w", "\n%{http_code} %{http_version}",
                            *args, url], capture_output=True, timeout=timeout + 20)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")

    def h2(self, **kw):
        """A frame-level HTTP/2 client on the TLS listener (ALPN h2)."""
        c = H2Raw(self.tls_port, tls=self.client_context(), **kw)
        self.addCleanup(c.close)
        return c


class Http2RoutesTest(Http2Base):
    """Every route kind over HTTP/2, over TLS and as h2c: the same handlers as HTTP/1.1."""

    def test_every_route_kind_over_h2_and_h2c(self):
        with UpstreamServer() as up:
            gw = self.start(upstream=up.address)
            for h2c in (False, True):
                with self.subTest(h2c=h2c):
                    ch = "h2c" if h2c else "tls"
                    # publish over HTTP/2, read back by poll over HTTP/2
                    rc, out, err = self.curl(f"/_sluice/publish/c:{ch}", "-X", "POST", "-H",
                                             f"Authorization: Bearer {TOKEN}", "--data-binary", "first",
                                             h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    body, tail = out.rsplit(b"\n", 1)
                    self.assertEqual(tail, b"200 2")
                    self.assertEqual(json.loads(body)["position"], 1)
                    rc, out, err = self.curl(f"/p/{ch}?position=0", h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    body, tail = out.rsplit(b"\n", 1)
                    self.assertEqual(tail, b"200 2")
                    self.assertEqual(json.loads(body)["events"][0]["data"], "first")
                    # a long-poll answered by a later publish
                    proc = subprocess.Popen(
                        ["curl", "-sS", "--max-time", "10", *(
                            ["--http2-prior-knowledge", f"http://127.0.0.1:{self.h2c_port}/p/{ch}?position=1&wait=5"]
                            if h2c else ["--http2", "--cacert", self.ca[0], "--resolve",
                                         f"localhost:{self.tls_port}:127.0.0.1",
                                         f"https://localhost:{self.tls_port}/p/{ch}?position=1&wait=5"])],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    wait_metric(gw.port, "sluice_poll_waiting", lambda v: v == 1, "the held poll")
                    publish_position(gw.port, f"c:{ch}", "second")
                    out, err = proc.communicate(timeout=15)
                    self.assertEqual(proc.returncode, 0, err)
                    self.assertEqual(json.loads(out)["events"][0]["data"], "second")
                    # proxy to an HTTP/1.1 upstream, with a request body (chunked upstream)
                    rc, out, err = self.curl("/api/echo/1", "-X", "POST", "--data-binary", "payload",
                                             "-H", "X-Test: yes", h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    body, tail = out.rsplit(b"\n", 1)
                    self.assertEqual(tail, b"200 2")
                    echo = json.loads(body)
                    self.assertEqual((echo["method"], echo["path"], echo["body"]), ("POST", "/api/echo/1", "payload"))
                    sent = {k.lower(): v for k, v in echo["headers"]}
                    self.assertEqual(sent.get("x-test"), "yes")
                    self.assertEqual(sent.get("host"), "127.0.0.1:%d" % self.h2c_port if h2c
                                     else "localhost:%d" % self.tls_port)
                    # a proxied download larger than the stream window (flow control)
                    rc, out, err = self.curl("/api/download?size=300000", h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(len(out.rsplit(b"\n", 1)[0]), 300000)
                    # static
                    rc, out, err = self.curl("/static/hello.txt", h2c=h2c)
                    self.assertEqual((rc, out), (0, b"hello over h2\n\n200 2"), err)
                    rc, out, err = self.curl("/static/missing.txt", h2c=h2c)
                    self.assertTrue(out.endswith(b"\n404 2"), out)
                    # admin
                    rc, out, err = self.curl("/_sluice/metrics", h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    self.assertIn(b"sluice_http2_connections_total", out)
                    # HEAD: the head only
                    rc, out, err = self.curl("/_sluice/health", "-I", h2c=h2c)
                    self.assertEqual(rc, 0, err)
                    self.assertIn(b"HTTP/2 200", out)
                    # sse: the event over curl
                    proc = subprocess.Popen(
                        ["curl", "-sSN", "--max-time", "10", *(
                            ["--http2-prior-knowledge", f"http://127.0.0.1:{self.h2c_port}/s/{ch}-sse"]
                            if h2c else ["--http2", "--cacert", self.ca[0], "--resolve",
                                         f"localhost:{self.tls_port}:127.0.0.1",
                                         f"https://localhost:{self.tls_port}/s/{ch}-sse"])],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    self.addCleanup(lambda p=proc: (p.kill(), p.wait(5), p.stdout.close(), p.stderr.close()))
                    wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 1, "the curl stream")
                    publish_position(gw.port, f"c:{ch}-sse", "over-h2")
                    data = b""
                    deadline = time.monotonic() + 10
                    while b"data: over-h2\n" not in data:
                        self.assertLess(time.monotonic(), deadline, data)
                        chunk = os.read(proc.stdout.fileno(), 4096)
                        self.assertTrue(chunk, data)
                        data += chunk
                    self.assertIn(b"retry: ", data)
                    self.assertIn(b"id: 1\n", data)
                    proc.kill()
                    proc.wait(5)
                    wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 0, "the stream closed")
            m = metrics(gw.port)
            self.assertGreaterEqual(metric_sum(m, "sluice_http2_connections_total"), 20)
            self.assertGreaterEqual(metric_sum(m, "sluice_http2_streams_total"), 20)
            lines = [l for l in gw.access_log_lines() if l.get("path") == "/api/echo/1"]
            self.assertEqual([l["status"] for l in lines], [200, 200])
            self.assertTrue(all(l.get("upstream") for l in lines), lines)

    def test_http1_still_served_beside_h2(self):
        self.start()
        # ALPN http/1.1 on the TLS listener
        r = subprocess.run(["curl", "-sS", "--http1.1", "--cacert", self.ca[0], "--resolve",
                            f"localhost:{self.tls_port}:127.0.0.1", "-w", "\n%{http_version}",
                            f"https://localhost:{self.tls_port}/_sluice/health"], capture_output=True, timeout=20)
        self.assertEqual(r.stdout, b'{"status":"ok"}\n1.1', r.stderr)
        # no preface on the h2c listener: HTTP/1.1 (keep-alive, two requests)
        r = subprocess.run(["curl", "-sS", "--http1.1", "-w", "\n%{http_version}",
                            f"http://127.0.0.1:{self.h2c_port}/_sluice/health",
                            f"http://127.0.0.1:{self.h2c_port}/_sluice/ready"],
                           capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"\n1.1"), 2, r.stdout)

    def test_request_headers_over_the_limit_get_431(self):
        self.start(limits={"max_header_size": "2KiB"})
        for h2c in (False, True):
            with self.subTest(h2c=h2c):
                rc, out, err = self.curl("/_sluice/health", "-H", "X-Big: " + "a" * 3000, h2c=h2c)
                self.assertEqual(rc, 0, err)
                self.assertTrue(out.endswith(b"\n431 2"), out)
                rc, out, err = self.curl("/_sluice/health", "-H", "X-Small: " + "a" * 500, h2c=h2c)
                self.assertTrue(out.endswith(b"\n200 2"), out)

    def test_publish_body_over_the_limit_gets_413(self):
        self.start(limits={"max_event_size": "1KiB", "max_body_size": "1KiB"})
        rc, out, err = self.curl("/_sluice/publish/c:big", "-X", "POST", "-H", f"Authorization: Bearer {TOKEN}",
                                 "--data-binary", "x" * 5000)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.endswith(b"\n413 2"), out)
        self.assertIn(b"max_event_size", out)


class Http2StreamsTest(Http2Base):
    """SSE streams sharing one HTTP/2 connection."""

    def test_several_sse_streams_on_one_connection_each_get_their_events(self):
        gw = self.start()
        c = self.h2()
        sids = {f"multi{i}": c.request(f"/s/multi{i}") for i in range(8)}
        c.read_until(lambda c: all(c.streams[s].status == 200 for s in sids.values()), 5, "8 stream heads")
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 8, "8 streams")
        self.assertEqual(metric_sum(metrics(gw.port), "sluice_http2_connections_open"), 1)
        for name in sids:
            publish_position(gw.port, f"c:{name}", f"for-{name}")
        c.read_until(lambda c: all(f"data: for-{n}\n".encode() in c.streams[s].data for n, s in sids.items()),
                     5, "every stream's event")
        for name, sid in sids.items():
            others = [n for n in sids if n != name]
            self.assertFalse(any(f"for-{o}\n".encode() in c.streams[sid].data for o in others), name)

    def test_each_stream_gets_its_own_heartbeats(self):
        self.start(defaults="heartbeat: 300ms")
        c = self.h2()
        sids = [c.request(f"/s/beat{i}") for i in range(3)]
        # Two heartbeat comments on every stream, each sent by the stream itself.
        c.read_until(lambda c: all(c.streams[s].data.count(b": heartbeat\n") >= 2 for s in sids), 10,
                     "heartbeats on every stream")
        for s in sids:
            self.assertIsNone(c.streams[s].reset)
            self.assertFalse(c.streams[s].ended)

    def test_a_stalled_stream_is_reset_while_another_keeps_receiving(self):
        # The client opens no stream window but B's: A's bytes can never be sent.
        gw = self.start(limits={"idle_timeout": "1500ms"})
        c = self.h2(settings={SETTINGS_INITIAL_WINDOW_SIZE: 0})
        c.auto_update = set()
        a = c.request("/s/stall-a")
        b = c.request("/s/stall-b")
        c.window_update(b, 1 << 20)
        c.auto_update = {b}
        c.read_until(lambda c: c.streams[b].status == 200 and b"retry:" in c.streams[b].data, 5, "B's head")
        publish_position(gw.port, "c:stall-a", "never-sent")
        # A is reset (CANCEL) once its zero window outlasted idle_timeout; B lives on.
        c.read_until(lambda c: c.streams[a].reset is not None, 10, "A's RST_STREAM")
        self.assertEqual(c.streams[a].reset, CANCEL)
        self.assertNotIn(b"never-sent", c.streams[a].data)
        publish_position(gw.port, "c:stall-b", "still-here")
        c.read_until(lambda c: b"data: still-here\n" in c.streams[b].data, 5, "B's event after A's reset")
        self.assertIsNone(c.streams[b].reset)
        wait_metric(gw.port, "sluice_http2_stream_resets_total", lambda v: v == 1, "the stalled reset",
                    reason="stalled")

    def test_a_slow_stream_is_reset_by_the_slow_client_rule_alone(self):
        # A's window is the default 64 KiB and never reopened: the events published to it
        # pile up past client_buffer and A is reset as slow; B takes every event.
        gw = self.start(limits={"client_buffer": "32KiB"})
        c = self.h2()
        c.auto_update = set()
        a = c.request("/s/slow-a")
        b = c.request("/s/slow-b")
        c.auto_update = {b}
        c.read_until(lambda c: c.streams[a].status == 200 and c.streams[b].status == 200, 5, "both heads")
        chunk = "x" * 4000
        for i in range(40):  # 160 KB: past A's window and client_buffer
            publish_position(gw.port, "c:slow-a", f"{i}-{chunk}")
        c.read_until(lambda c: c.streams[a].reset is not None, 10, "A's RST_STREAM")
        for i in range(20):
            publish_position(gw.port, "c:slow-b", f"b{i}")
        c.read_until(lambda c: b"data: b19\n" in c.streams[b].data, 5, "B's events")
        self.assertIsNone(c.streams[b].reset)
        m = wait_metric(gw.port, "sluice_http2_stream_resets_total", lambda v: v >= 1, "the slow reset",
                        reason="slow")
        self.assertGreaterEqual(metric_sum(m, "sluice_sse_slow_disconnects_total"), 1)

    def test_drain_sends_goaway_and_ends_the_streams(self):
        gw = self.start()
        c = self.h2()
        sids = [c.request(f"/s/drain{i}") for i in range(3)]
        c.read_until(lambda c: all(c.streams[s].status == 200 for s in sids), 5, "3 stream heads")
        gw.send_signal(signal.SIGTERM)
        c.read_until(lambda c: c.goaway is not None and all(c.streams[s].ended for s in sids), 10,
                     "GOAWAY and the end of every stream")
        self.assertEqual(c.goaway, (sids[-1], 0))  # NO_ERROR, the last stream it took
        for s in sids:
            self.assertIn(b"reconnect", c.streams[s].data)  # the drain comment
            self.assertIsNone(c.streams[s].reset)
        c.read_to_close(10)
        self.assertEqual(gw.wait_exit(10), 0)

    def test_max_concurrent_streams_is_announced_and_enforced(self):
        gw = self.start(limits={"http2_max_streams": 3})
        c = self.h2()
        sids = [c.request(f"/s/cap{i}") for i in range(4)]
        c.read_until(lambda c: c.streams[sids[3]].reset is not None, 5, "the 4th stream refused")
        self.assertEqual(c.server_settings.get(3), 3)  # SETTINGS_MAX_CONCURRENT_STREAMS
        c.read_until(lambda c: all(c.streams[s].status == 200 for s in sids[:3]), 5, "3 streams served")
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 3, "3 streams")


class Http2ReloadTest(TlsTestBase):
    """A certificate swapped by SIGHUP while HTTP/2 streams are open (the HTTP/1.1 version:
    test_tls_listen.TlsReloadTest)."""

    def test_sighup_swaps_the_certificate_under_open_h2_streams(self):
        served = (os.path.join(self.dir.name, "served.crt"), os.path.join(self.dir.name, "served.key"))
        old = self.leaf
        new = make_leaf(self.dir.name, self.ca, "renewed", "localhost")
        for src, dst in zip(old, served):
            shutil.copyfile(src, dst)
        gw = self.gateway(tls_config(single(served)))
        port, listening = tls_port(gw)
        self.assertEqual(listening["alpn"], "h2,http/1.1")
        c = H2Raw(port, tls=self.client_context())
        self.addCleanup(c.close)
        self.assertEqual(c.sock.getpeercert(binary_form=True), der_of(old[0]))
        sids = {name: c.request(f"/s/{name}") for name in ("swap1", "swap2")}
        c.read_until(lambda c: all(c.streams[s].status == 200 for s in sids.values()), 5, "both heads")
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 2, "two streams")
        for name in sids:
            publish_position(gw.port, f"c:{name}", f"before-{name}")
        c.read_until(lambda c: all(f"data: before-{n}\n".encode() in c.streams[s].data for n, s in sids.items()),
                     5, "the events before the reload")

        for src, dst in zip(new, served):
            shutil.copyfile(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
        gw.send_signal(signal.SIGHUP)
        wait_metric(gw.port, "sluice_config_reloads_total", lambda v: v == 1, "the reload")

        # The open streams keep receiving, on the connection made with the old certificate,
        # and that connection still takes new streams.
        for name in sids:
            publish_position(gw.port, f"c:{name}", f"after-{name}")
        c.read_until(lambda c: all(f"data: after-{n}\n".encode() in c.streams[s].data for n, s in sids.items()),
                     5, "the events after the reload")
        third = c.request("/s/swap3")
        c.read_until(lambda c: c.streams[third].status == 200, 5, "a new stream on the old connection")
        for sid in (*sids.values(), third):
            self.assertIsNone(c.streams[sid].reset)
            self.assertFalse(c.streams[sid].ended)
        self.assertIsNone(c.goaway)

        # A new connection gets the new certificate, and streams on it work.
        fresh = H2Raw(port, tls=self.client_context())
        self.addCleanup(fresh.close)
        self.assertEqual(fresh.sock.getpeercert(binary_form=True), der_of(new[0]))
        sid = fresh.request("/s/swap1")
        fresh.read_until(lambda c: c.streams[sid].status == 200, 5, "a stream on the new connection")
        wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 4, "four streams")
        publish_position(gw.port, "c:swap1", "both-connections")
        fresh.read_until(lambda c: b"data: both-connections\n" in c.streams[sid].data, 5, "the new stream's event")
        c.read_until(lambda c: b"data: both-connections\n" in c.streams[sids["swap1"]].data, 5,
                     "the old stream's event")
        self.assertEqual(metric_sum(metrics(gw.port), "sluice_http2_connections_open"), 2)


class Http2ProxyStreamTest(Http2Base):
    """An event stream from an HTTP/1.1 upstream passes through a proxy route to an HTTP/2
    client as it comes, byte for byte, beside other streams on the same connection."""

    @staticmethod
    def events(n):
        return "".join(f"id: {i}\ndata: {{\"n\":{i}}}\n\n" for i in range(1, n + 1)).encode()

    def test_proxied_event_streams_pass_through_as_they_come(self):
        with UpstreamServer() as up:
            self.start(upstream=up.address)
            c = self.h2()
            held = c.request("/api/sse?n=1&hold=3", headers=[("accept", "text/event-stream")])
            quick = c.request("/api/sse?n=5&interval=0.02", headers=[("accept", "text/event-stream")])
            # The held stream's first event arrives while the upstream still holds the
            # response open: nothing waits for the end of the body.
            c.read_until(lambda c: c.streams[held].data == self.events(1), 5, "the first event")
            self.assertFalse(c.streams[held].ended)
            self.assertEqual(c.streams[held].status, 200)
            c.read_until(lambda c: c.streams[quick].ended, 5, "the quick stream's end")
            self.assertEqual(bytes(c.streams[quick].data), self.events(5))
            self.assertFalse(c.streams[held].ended, "one stream's end leaves the other open")
            c.read_until(lambda c: c.streams[held].ended, 10, "the held stream's end")
            self.assertEqual(bytes(c.streams[held].data), self.events(1))
            self.assertIsNone(c.streams[held].reset)


@unittest.skipUnless(have_tool("h2load"), "h2load (Debian nghttp2-client) is not installed")
class Http2LoadTest(Http2Base):
    """Many streams on few connections (bounded: a few thousand requests)."""

    def h2load(self, *args):
        r = subprocess.run(["h2load", *args], capture_output=True, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace")

    def test_h2load_many_streams_on_few_connections(self):
        gw = self.start()
        publish_position(gw.port, "c:load", "for-h2load")
        for url in (f"https://127.0.0.1:{self.tls_port}/p/load?position=0",
                    f"http://127.0.0.1:{self.h2c_port}/_sluice/health"):
            with self.subTest(url=url):
                rc, out = self.h2load("-n", "3000", "-c", "3", "-m", "100", url)
                self.assertEqual(rc, 0, out)
                self.assertIn("3000 succeeded, 0 failed, 0 errored", out)
                self.assertIn("status codes: 3000 2xx", out)
        m = metrics(gw.port)
        self.assertGreaterEqual(metric_sum(m, "sluice_http2_streams_total"), 6000)
        self.assertEqual(metric_sum(m, "sluice_http2_streams_open"), 0)


if __name__ == "__main__":
    unittest.main()
