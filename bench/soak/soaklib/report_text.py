"""The readable summary of a soak result (the JSON has everything)."""

import json


def _mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def summary(r):
    o = r["options"]
    lines = [f"sluice chaos soak: {o['duration']:.0f}s of load, {o['streams']} SSE + "
             f"{o['pollers']} poll clients, "
             f"{o['channels'] + o['hot_channels'] + o['burst_channels']} channels; "
             f"ran {r['duration_s']}s"]
    for name, i in r["instances"].items():
        lines.append(f"  sluice {name}: {i['binary']}{' (ASan)' if i['sanitized'] else ''}, "
                     f"{i['process_starts']} start(s), reload generation "
                     f"{i['reload_generation']}, streams closed by reason "
                     f"{i['access_log'].get('streams_closed_by_reason', {})}")
    lines.append(f"  events received and checked: {r['events_received']}; publishes: "
                 f"{r['publishes']}")
    lines.append(f"  gaps by reason: {r['gaps_by_reason'] or 'none'}")
    lines.append(f"  holes that are not violations: {r['holes_not_violations'] or 'none'}")
    lines.append("  memory (MiB)   before  peak   HWM    after  growth/limit")
    for m in r["memory"]:
        growth = m.get("growth_kib")
        lim = m.get("growth_limit_kib")
        checked = "" if m.get("growth_checked", True) else " (ASan: not checked)"
        lines.append(f"    {m['instance']}#{m['process']:<10} {_mib(m['before_rss_kib']):>6} "
                     f"{_mib(m['peak_rss_kib']):>6} {_mib(m['hwm_kib']):>6} "
                     f"{_mib(m['after_rss_kib']):>6}  "
                     f"{'-' if growth is None else _mib(growth)}/{_mib(lim)}{checked}")
    for e in r["exits"]:
        lines.append(f"  exit {e['instance']}#{e['process']} ({e['when']}"
                     f"{', ASan' if e['sanitized'] else ''}): code {e['code']}"
                     f"{' PROBLEMS ' + '; '.join(e['problems']) if e['problems'] else ', clean'}")
    for name, m in (r.get("metrics") or {}).items():
        lines.append(f"  metrics {name}: {json.dumps(m, sort_keys=True)}")
    if r["warnings"]:
        lines.append(f"  warnings: {json.dumps(r['warnings'], default=str)[:2000]}")
    if r["violation_counts"]:
        lines.append(f"VIOLATIONS: {r['violation_counts']}")
        for kind, items in r["violations"].items():
            sp = r.get("violation_spread", {}).get(kind)
            if sp:
                lines.append(f"  {kind}: {r['violation_counts'][kind]} times "
                             f"{sp.get('by_mode', {})}, {sp['clients']} clients, channels "
                             f"{', '.join(sp['channels'])}")
            for v in items[:5]:
                lines.append(f"  {kind}: {json.dumps(v, default=str)[:600]}")
            if len(items) > 5:
                lines.append(f"  {kind}: ... {r['violation_counts'][kind] - 5} more "
                             f"(see the JSON)")
    lines.append("result: " + ("PASS" if r["ok"] else "FAIL") +
                 (f" (work directory kept: {r['workdir']})" if r.get("workdir") else ""))
    return "\n".join(lines)
