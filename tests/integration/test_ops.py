"""Operations endpoints and logs: health, ready, Prometheus metrics (names present,
counters and gauges move with traffic, histogram shape), and the JSON access log (one
"request" line per request, one "stream" line per closed stream)."""

import json
import re
import subprocess
import time
import unittest

from harness import (Gateway, GatewayTestCase, SseClient, http_request, make_config,
                     metric_series, metric_sum, metrics, publish_many, sluice_bin, wait_metric)

REQUIRED = [
    "sluice_connections_open", "sluice_sse_streams_open", "sluice_sse_streams_total",
    "sluice_events_published_total", "sluice_events_delivered_total", "sluice_sent_bytes_total",
    "sluice_sse_slow_disconnects_total", "sluice_sse_gaps_total", "sluice_http_requests_total",
    "sluice_http_request_duration_seconds_bucket", "sluice_http_request_duration_seconds_sum",
    "sluice_http_request_duration_seconds_count", "sluice_broker_up",
    "sluice_worker_connections_open", "sluice_events_received_total", "sluice_build_info",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
    "process_open_fds", "process_max_fds", "process_start_time_seconds",
]
ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /small/{id}
  sse:
    channel: small:{id}
    history: {size: 2}
"""


class OpsEndpointsTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES)

    def test_health(self):
        status, headers, body = http_request(self.port, "GET", "/_sluice/health")
        self.assertEqual(status, 200)
        self.assertIn("application/json", headers.get("content-type", ""))
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_ready(self):
        status, _, body = http_request(self.port, "GET", "/_sluice/ready")
        self.assertEqual((status, json.loads(body)), (200, {"ready": True}))

    def test_metrics_format_and_names(self):
        status, headers, body = http_request(self.port, "GET", "/_sluice/metrics")
        self.assertEqual(status, 200)
        ctype = headers.get("content-type", "").replace(" ", "")
        self.assertTrue(ctype.startswith("text/plain;"), ctype)
        self.assertIn("version=0.0.4", ctype.split(";"))
        text = body.decode()
        m = metrics(self.port)
        for name in REQUIRED:
            with self.subTest(metric=name):
                self.assertTrue(metric_series(m, name), f"{name} missing")
                family = re.sub(r"_(bucket|sum|count)$", "", name) if "duration" in name else name
                self.assertRegex(text, rf"(?m)^# TYPE {family} (counter|gauge|histogram)$")
        self.assertEqual(metric_sum(m, "sluice_broker_up"), 1)
        self.assertFalse(metric_series(m, "sluice_bytes_out_total"), "renamed: sluice_sent_bytes_total")

    def test_build_info_and_process_series(self):
        m = metrics(self.port)
        [(labels, value)] = metric_series(m, "sluice_build_info")
        self.assertEqual(value, 1)
        self.assertEqual(set(labels), {"version", "commit", "build_type"})
        out = subprocess.run([sluice_bin(), "--version"], capture_output=True, text=True).stdout
        self.assertIn(labels["version"], out)
        self.assertIn(labels["commit"], out)
        self.assertIn(labels["build_type"], out)
        self.assertGreater(metric_sum(m, "process_resident_memory_bytes"), 0)
        self.assertGreaterEqual(metric_sum(m, "process_virtual_memory_bytes"),
                                metric_sum(m, "process_resident_memory_bytes"))
        self.assertGreaterEqual(metric_sum(m, "process_open_fds"), 3)
        self.assertGreaterEqual(metric_sum(m, "process_max_fds"), metric_sum(m, "process_open_fds"))
        self.assertGreaterEqual(metric_sum(m, "process_cpu_seconds_total"), 0)
        self.assertLessEqual(metric_sum(m, "process_start_time_seconds"), time.time() + 1)
        self.assertGreater(metric_sum(m, "process_start_time_seconds"), 0)

    def test_stream_gauges_and_counters_move(self):
        before = metrics(self.port)
        client = self.sse("/s/gauges")
        client.next_event(5, all_blocks=True)
        opened = metric_sum(before, "sluice_sse_streams_open")
        during = wait_metric(self.port, "sluice_sse_streams_open", lambda v: v > opened,
                             "streams_open to rise")
        self.assertEqual(metric_sum(during, "sluice_sse_streams_total"),
                         metric_sum(before, "sluice_sse_streams_total") + 1)
        self.assertGreater(metric_sum(during, "sluice_connections_open"), 0)

        publish_many(self.port, "c:gauges", ["e1", "e2"])
        client.read_events(2)
        after = metrics(self.port)
        self.assertEqual(metric_sum(after, "sluice_events_published_total"),
                         metric_sum(before, "sluice_events_published_total") + 2)
        self.assertGreaterEqual(metric_sum(after, "sluice_events_delivered_total"),
                                metric_sum(before, "sluice_events_delivered_total") + 2)
        self.assertGreater(metric_sum(after, "sluice_sent_bytes_total"),
                           metric_sum(before, "sluice_sent_bytes_total"))

        client.close()
        wait_metric(self.port, "sluice_sse_streams_open", lambda v: v == opened,
                    "streams_open to fall back after the client left")

    def test_gap_counter(self):
        before = metric_sum(metrics(self.port), "sluice_sse_gaps_total")
        publish_many(self.port, "small:gapped", ["1", "2", "3", "4", "5"])
        events = self.sse("/small/gapped?position=1").read_events(3)
        self.assertEqual(events[0]["event"], "gap")
        self.assertEqual(metric_sum(metrics(self.port), "sluice_sse_gaps_total"), before + 1)

    def test_requests_by_route_and_status(self):
        before = metrics(self.port)
        for _ in range(3):
            http_request(self.port, "GET", "/no/such/path")
        self.sse("/s/%2A")  # 400 on the /s/{id} route
        after = metrics(self.port)
        name = "sluice_http_requests_total"
        self.assertEqual(metric_sum(after, name, status="404"),
                         metric_sum(before, name, status="404") + 3)
        self.assertEqual(metric_sum(after, name, route="/s/{id}", status="400"),
                         metric_sum(before, name, route="/s/{id}", status="400") + 1)

    def test_latency_histogram_shape(self):
        http_request(self.port, "GET", "/no/such/path")
        m = metrics(self.port)
        base = "sluice_http_request_duration_seconds"
        routes = {lbl["route"] for lbl, _ in metric_series(m, base + "_count")}
        self.assertTrue(routes)
        for route in routes:
            with self.subTest(route=route):
                buckets = [(lbl["le"], v) for lbl, v in metric_series(m, base + "_bucket")
                           if lbl.get("route") == route]
                finite = sorted((float(le), v) for le, v in buckets if le != "+Inf")
                inf = [v for le, v in buckets if le == "+Inf"]
                self.assertEqual(len(inf), 1, "one +Inf bucket per route")
                counts = [v for _, v in finite] + inf
                self.assertEqual(counts, sorted(counts), "buckets must be cumulative")
                self.assertEqual(inf[0], metric_sum(m, base + "_count", route=route))
                self.assertGreaterEqual(metric_sum(m, base + "_sum", route=route), 0)


class TwoWorkersMetricsTest(GatewayTestCase):
    CONFIG = make_config(routes=ROUTES, workers=2)

    def test_events_received_counts_each_event_once(self):
        before = metric_sum(metrics(self.port), "sluice_events_received_total")
        publish_many(self.port, "c:once", ["1", "2", "3"])
        after = metric_sum(metrics(self.port), "sluice_events_received_total")
        # Each of the two loops receives every event; the process received three.
        self.assertEqual(after - before, 3)
        self.assertEqual(len(metric_series(metrics(self.port), "sluice_worker_connections_open")), 2)


class AccessLogTest(unittest.TestCase):
    def test_request_and_stream_lines(self):
        with Gateway(make_config(routes=ROUTES)) as gw:
            for path in ("/missing/one", "/missing/two"):
                self.assertEqual(http_request(gw.port, "GET", path)[0], 404)
            publish_many(gw.port, "c:logged", ["a", "b"])
            publish_many(gw.port, "c:ended", ['{"type":"done"}'])

            by_client = SseClient(gw.port, "/s/logged")
            self.assertEqual(len(by_client.read_events(2)), 2)
            by_client.close()
            ended = SseClient(gw.port, "/s/ended")
            self.assertTrue(ended.wait_closed(5))
            ended.close()
            wait_metric(gw.port, "sluice_sse_streams_open", lambda v: v == 0,
                        "both streams to be closed")
            gw.stop()
            lines = gw.access_log_lines()

        requests = [l for l in lines if l.get("type") == "request"]
        for path in ("/missing/one", "/missing/two"):
            mine = [l for l in requests if l.get("path") == path]
            self.assertEqual(len(mine), 1, f"want exactly one line for {path}: {mine}")
            line = mine[0]
            self.assertEqual((line["method"], line["status"]), ("GET", 404))
            for key in ("route", "bytes", "duration_ms", "remote"):
                self.assertIn(key, line)
            self.assertGreater(line["bytes"], 0)
            self.assertGreaterEqual(line["duration_ms"], 0)
            self.assertTrue(str(line["remote"]).startswith("127.0.0.1"), line)
        publishes = [l for l in requests if l.get("method") == "POST"]
        self.assertEqual(len(publishes), 3, publishes)

        streams = {l.get("channel"): l for l in lines if l.get("type") == "stream"}
        self.assertEqual(sum(l.get("type") == "stream" for l in lines), 2, lines)
        for channel, reason, events in (("c:logged", "client", 2), ("c:ended", "terminal", 1)):
            with self.subTest(channel=channel):
                line = streams[channel]
                self.assertEqual((line["route"], line["status"]), ("/s/{id}", 200))
                self.assertEqual((line["reason"], line["events"]), (reason, events))
                self.assertGreater(line["bytes"], 0)
                self.assertGreaterEqual(line["duration_ms"], 0)


if __name__ == "__main__":
    unittest.main()
