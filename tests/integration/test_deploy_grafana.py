"""deploy/grafana/sluice-dashboard.json: valid dashboard JSON whose every query names
metrics that a real /_sluice/metrics scrape has. The scrape comes from a sluice on a real
Redis after traffic that makes each labelled series appear (an SSE stream, publishes, a
poll, a proxied request to an upstream that refuses)."""

import json
import re
import unittest

from deploy_files import deploy_path, read
from harness import SseClient, http_request, metrics, publish, wait_until
from redis_harness import RedisServer, redis_config, start_gateway
from upstreams import unused_port

DASHBOARD = deploy_path("grafana", "sluice-dashboard.json")
METRIC = re.compile(r"\b((?:sluice|process)_[a-z0-9_]+)\b")
HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def dashboard_panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def queried_metrics(dash):
    names = set()
    for p in dashboard_panels(dash):
        for t in p.get("targets", []):
            names.update(METRIC.findall(t["expr"]))
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            names.update(METRIC.findall(q["query"]))
    return names


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD, encoding="utf-8") as f:
            cls.dash = json.load(f)

    def test_panels_are_well_formed(self):
        ids = [p["id"] for p in dashboard_panels(self.dash)]
        self.assertEqual(len(ids), len(set(ids)))
        for p in dashboard_panels(self.dash):
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            if p["type"] == "row":
                continue
            self.assertTrue(p["targets"], p["title"])
            self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
        names = [v["name"] for v in self.dash["templating"]["list"]]
        self.assertEqual(names, ["datasource", "instance"])

    def test_it_covers_what_operators_watch(self):
        names = queried_metrics(self.dash)
        for needed in ("sluice_connections_open", "sluice_sse_streams_open",
                       "sluice_events_published_total", "sluice_events_received_total",
                       "sluice_events_delivered_total", "sluice_sse_slow_disconnects_total",
                       "sluice_sse_gaps_total", "sluice_http_requests_total",
                       "sluice_upstream_failures_total", "sluice_history_bytes",
                       "sluice_broker_up", "sluice_sent_bytes_total", "sluice_build_info"):
            self.assertIn(needed, names)

    def test_every_queried_metric_is_in_a_real_scrape(self):
        redis = RedisServer().start()
        self.addCleanup(redis.cleanup)
        routes = ("- path: /s/{id}\n  sse:\n    channel: c:{id}\n"
                  "- path: /p/{id}\n  poll:\n    channel: c:{id}\n"
                  "- prefix: /api/\n  proxy:\n    upstream: app\n")
        extra = f"upstreams:\n  app:\n    servers: [127.0.0.1:{unused_port()}]\n"
        gw = start_gateway(redis_config(redis.port, routes=routes, extra=extra), redis)
        self.addCleanup(gw.cleanup)
        stream = SseClient(gw.port, "/s/dash")
        self.addCleanup(stream.conn.close)
        self.assertEqual(publish(gw.port, "c:dash", '{"n":1}')[0], 200)
        self.assertIsNotNone(stream.next_event())
        self.assertEqual(http_request(gw.port, "GET", "/p/dash?position=0")[0], 200)
        self.assertEqual(http_request(gw.port, "GET", "/api/x")[0], 502)
        scrape = wait_until(lambda: (lambda m: m if any(k.startswith("sluice_upstream_failures_total")
                                                        for k in m) else None)(metrics(gw.port)),
                            what="the upstream failure in the metrics")
        exported = {series.split("{")[0] for series in scrape}
        for name in list(exported):
            for part in HISTOGRAM_PARTS:
                if name.endswith(part):
                    exported.add(name[: -len(part)])
        missing = sorted(n for n in queried_metrics(self.dash) if n not in exported)
        self.assertEqual(missing, [], "queried by the dashboard but not exported")
        stream.conn.close()
        gw.stop()


if __name__ == "__main__":
    unittest.main()
