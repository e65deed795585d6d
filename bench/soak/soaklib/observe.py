"""What the soak reads from the sluice processes besides the streams: memory from /proc
(before the load, the peak, after the clients closed), Prometheus metrics, the access log
(why streams closed) and the error log (warnings and errors by message)."""

import asyncio
import json

from . import http

METRICS = ("sluice_sse_slow_disconnects_total", "sluice_sse_gaps_total",
           "sluice_broker_reconnects_total", "sluice_broker_recovered_total",
           "sluice_broker_messages_dropped_total", "sluice_config_reloads_total",
           "sluice_config_reload_failures_total", "sluice_connections_rejected_total",
           "sluice_events_delivered_total", "sluice_sse_streams_total",
           "sluice_history_evicted_total")


class MemoryWatch:
    """VmRSS / VmHWM (KiB) per process start of each instance."""

    def __init__(self, world):
        self.world = world
        self.procs = {}

    def _rec(self, inst):
        return self.procs.setdefault(f"{inst.name}#{inst.process_gen}", {
            "instance": inst.name, "process": inst.process_gen, "pid": inst.pid,
            "sanitized": inst.sanitized, "before_rss_kib": None, "peak_rss_kib": 0,
            "hwm_kib": 0, "after_rss_kib": None, "after_hwm_kib": None})

    def sample(self, inst, field=None):
        m = inst.memory()
        if not m:
            return None
        rec = self._rec(inst)
        rec["peak_rss_kib"] = max(rec["peak_rss_kib"], m["VmRSS"])
        rec["hwm_kib"] = max(rec["hwm_kib"], m["VmHWM"])
        if field == "before":
            rec["before_rss_kib"] = m["VmRSS"]
        elif field == "after":
            rec["after_rss_kib"] = m["VmRSS"]
            rec["after_hwm_kib"] = m["VmHWM"]
        return m

    async def run(self, interval=0.5):
        while True:
            for inst in self.world.instances:
                if inst.up:
                    self.sample(inst)
            await asyncio.sleep(interval)


def parse_metrics(text):
    """{metric name: sum over its series} for the names in METRICS."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in METRICS:
            try:
                out[name] = out.get(name, 0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return {k: int(v) if v == int(v) else v for k, v in out.items()}


async def scrape(inst):
    try:
        status, _, body = await http.get(inst.port, "/_sluice/metrics", timeout=10.0)
    except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError) as e:
        return {"error": repr(e)}
    if status != 200:
        return {"error": f"status {status}"}
    return parse_metrics(body.decode("utf-8", "replace"))


def access_summary(path):
    """Closed streams by reason, and requests by status, from one access log."""
    reasons, statuses, bad = {}, {}, 0
    try:
        f = open(path, "rb")
    except OSError:
        return {}
    with f:
        for raw in f:
            try:
                line = json.loads(raw)
            except ValueError:
                bad += 1
                continue
            if line.get("type") == "stream":
                r = line.get("reason", "?")
                reasons[r] = reasons.get(r, 0) + 1
            else:
                s = str(line.get("status", "?"))
                statuses[s] = statuses.get(s, 0) + 1
    out = {"streams_closed_by_reason": reasons, "requests_by_status": statuses}
    if bad:
        out["lines_not_json"] = bad
    return out


def error_log_summary(text):
    """{"warn": {msg: n}, "error": {msg: n}} from sluice's JSON error log."""
    out = {}
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        level = line.get("level")
        if level in ("warn", "error"):
            msgs = out.setdefault(level, {})
            msgs[line.get("msg", "?")] = msgs.get(line.get("msg", "?"), 0) + 1
    return out
