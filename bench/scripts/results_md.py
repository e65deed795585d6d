"""Renders bench/compare.py's results as bench/RESULTS.md: machine, versions, the floor,
one table per scenario with absolute figures and ratios, the issue's targets checked
against the figures, and the exact commands."""

import shlex

LABELS = {
    "sluice-w1": "sluice (1 worker)", "sluice-w2": "sluice (2 workers)",
    "nchan": "Nchan (1 worker)", "pushpin": "Pushpin", "sluice-w1-redis":
    "sluice (1 worker, Redis PUBLISH)", "h3": "h3 / Nuxt (Redis PUBLISH)",
    "sluice-w1-cluster": "sluice (1 worker, Redis Cluster of 3 masters, sequenced, HTTP publish)",
    "sluice-w1-uring": "sluice (1 worker, io_uring: true)",
}


def label(name):
    return LABELS.get(name, name)


def ms(us):
    return "–" if us is None else f"{us / 1000:.2f}"


def num(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def floor_rate(results, mode, connections, batch=1, rate=0, io="write"):
    """Deliveries per CPU-second of the matching sluice-floor run; rate 0 = back to back."""
    for f in results["floor"]:
        if (f["mode"] == mode and f["connections"] == connections and f["batch"] == batch
                and f.get("rate", 0) == rate and f.get("io", "write") == io):
            return f["deliveries_per_cpu_s"]
    return None


def find(rows, server, **match):
    for r in rows:
        if r["server"] == server and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def render(results, args):
    r = results
    quick = r["mode"] == "quick"
    o = []
    o.append("# sluice benchmark results\n")
    if quick:
        o.append("**This is the quick run** (`bench/compare.sh --quick`): small counts and short "
                 "windows, to check that everything works. Its figures are indicative only; "
                 "the targets of issue 5 are about the full run (`bench/compare.sh`), which "
                 "uses the counts the issue names.\n")
    else:
        o.append("Full run (`bench/compare.sh`), with the counts issue 5 names.\n")
    o.append(f"Command: `{args.command_line or 'bench/compare.sh'}` — started {r['started']}, "
             f"took {r['elapsed_s'] / 60:.1f} minutes. Raw data: `results.json` and "
             f"`raw.jsonl` in the run's work directory (`{args.workdir}`).\n")

    m, v = r["machine"], r["versions"]
    o.append("## Machine and versions\n")
    o.append(f"- {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Linux {m['kernel']}, "
             f"Debian {m['debian']}; open-files hard limit {m['nofile']} per process; "
             f"load average before the run: {m['load_before']}.")
    o.append("- Everything on loopback; the servers and the load generator share the 2 cores "
             "(other jobs on this machine may add noise: CPU-seconds are less sensitive to "
             "that than rates).")
    o.append(f"- {v['sluice']} ({v['compiler']}); "
             + "; ".join(v["packages"]) + f"; node {v['node']}, h3 {v['h3']}, "
             f"ioredis {v['ioredis']}.\n")

    o.append("## How to read this\n")
    o.append("- Every server is started fresh for each row (empty history). CPU and memory are "
             "read from /proc for the server's whole process tree (nginx master + worker; "
             "Pushpin's condure, proxy, handler and zurl — not its Python GRIP origin; not "
             "Redis). Memory is Pss (a page shared by n processes counts 1/n).")
    o.append("- *Server CPU* is user + system time from the first publish to the end of the "
             "run (the last event delivered, or the drain); *deliveries* are events the "
             "load generator received and checked. *per 1M* = server CPU-seconds per million "
             "deliveries. *floor* = `sluice-floor`'s deliveries per CPU-second for the same "
             "connection count and shape (broadcast or one channel per socket).")
    o.append("- Latency is publish → receive (payload timestamp vs. receive time), live events "
             "only, in milliseconds. *lost*/*dup* are counted per connection and channel from "
             "the payloads' sequence numbers.")
    o.append("- *bench CPU* is the load generator's (sluice-bench, one process, one core at "
             "most) CPU in the same window: when it nears 1 s per second, it, not the server, "
             "limits the rate.\n")

    # ---- targets -------------------------------------------------------------------------
    o.append("## Targets (issue 5, item 6; issue 12)\n")
    o.append(targets(r, quick))

    # ---- floor ---------------------------------------------------------------------------
    o.append("## Floor: sluice-floor\n")
    o.append("Pre-connected loopback sockets written with the bytes sluice writes "
             "(`id: N\\ndata: <payload>\\n\\n`), the client ends drained by a forked reader. "
             "*rate* 0 = back to back: the readers never get to sleep, which no server at "
             "S2's rates sees; *rate* R = R rounds a second, writer and readers asleep in "
             "between, each round a burst of one event to every socket: S2's shape at that "
             "rate (the *paced floor*). *batch* = events per write: 1 is what a server writes "
             "when it keeps up with every event; 8 shows what coalescing a backlog into one "
             "write can reach, which a server does only when it lags (higher latency). *io*: "
             "`write` = one write(2) per socket (what sluice does through libuv), `uring` = a "
             "round's sends submitted together through io_uring (one system call per 1,024 "
             "sockets).\n")
    rows = [[f["mode"], f.get("rate", 0), f.get("io", "write"), f["batch"],
             num(f["connections"]), f["event_bytes"], num(f["deliveries_per_cpu_s"]),
             num(f["deliveries_per_s"]), f"{f['cpu_user_s']:.2f} + {f['cpu_sys_s']:.2f}",
             f"{f['reader_cpu_s']:.2f}"] for f in r["floor"]]
    o.append(table(["shape", "rate /s", "io", "batch", "connections", "event bytes",
                    "deliveries / CPU-s", "deliveries / s", "writer CPU user + sys (s)",
                    "reader CPU (s)"], rows))
    uring = []
    for f in r["floor"]:
        if f.get("io") == "uring":
            w = floor_rate(r, f["mode"], f["connections"], f["batch"], f.get("rate", 0))
            if w:
                uring.append(f"{f.get('rate', 0)}/s: {f['deliveries_per_cpu_s'] / w:.2f}×")
    if uring:
        o.append("io_uring's deliveries per CPU-second against write(2)'s, paced floor: "
                 + ", ".join(uring) + " (batched submission is worth building into sluice "
                 "only at 1.11× or more: at least 10% less CPU per delivery).\n")

    # ---- S1 ------------------------------------------------------------------------------
    o.append("## S1: idle capacity\n")
    o.append("Connections opened at the ramp shown, then held idle (no events). *time to "
             "connect* is from the first connect to the last response head; *per stream* = "
             "(Pss held − Pss before) / streams.\n")
    rows = []
    for x in r["s1"]:
        rep = x["report"]
        ramp = _arg(x, "--ramp")
        rows.append([label(x["server"]), num(rep["connections"]), num(rep["open_at_end"]),
                     rep["failed"], ramp, f"{rep['settled_s']:.2f}",
                     f"{ms(rep['connect_us']['p50'])} / {ms(rep['connect_us']['p99'])}",
                     f"{x['pss_before'] / 1024:.1f}", f"{x['pss_end'] / 1024:.1f}",
                     f"**{x['pss_per_stream_kib']:.2f}**",
                     f"{x['server_cpu_run']:.2f}", f"{x['bench_cpu_run']:.2f}"])
    o.append(table(["server", "streams", "open", "failed", "ramp /s", "time to connect (s)",
                    "connect p50 / p99 (ms)", "Pss before (MiB)", "Pss held (MiB)",
                    "KiB per stream", "server CPU (s)", "bench CPU (s)"], rows))
    sm = r.get("s1_machine")
    if sm:
        o.append(f"**On the machine:** {sm['processes']} sluice processes (1 worker each, "
                 f"`share_listen_port: true`, one port) and {sm['bench_processes']} "
                 f"sluice-bench processes: **{num(sm['open'])} of {num(sm['target'])} streams "
                 f"held**, {sm['failed']} failed, all connected after {sm['settled_s']:.1f} s; "
                 f"open descriptors per sluice process while held: {sm['fds']} (limit 20,000); "
                 f"Pss {sm['pss_before'] / 1024:.1f} → {sm['pss_end'] / 1024:.1f} MiB, "
                 f"**{sm['pss_per_stream_kib']:.2f} KiB per stream**; server CPU "
                 f"{sm['server_cpu']:.1f} s, bench CPU {sm['bench_cpu']:.1f} s.\n")

    # ---- S2 ------------------------------------------------------------------------------
    o.append("## S2: broadcast\n")
    n2 = r["s2"][0]["subs"] if r["s2"] else 0
    floor2 = floor_rate(r, "broadcast", n2)
    o.append(f"{num(n2)} subscribers on one channel, rising publish rates (a server's rise "
             "stops after the first rate it cannot sustain: under 90% delivered, p99 over 2 s "
             "or failed connections). Memory-broker peers publish over HTTP; the Redis rows "
             "publish with `PUBLISH`.\n")
    paced2 = {x["rate"]: floor_rate(r, "broadcast", n2, rate=x["rate"]) for x in r["s2"]}
    o.append(load_table(r["s2"], r["s2"], floor2, by_rate=True, paced=paced2))

    # ---- S3 ------------------------------------------------------------------------------
    o.append("## S3: sessions\n")
    n3 = r["s3"][0]["subs"] if r["s3"] else 0
    o.append(f"{num(n3)} subscribers, one channel each, 1 event/s each ({num(n3)} publishes/s "
             "in all).\n")
    o.append(load_table(r["s3"], r["s3"], floor_rate(r, "sessions", n3), by_rate=False))

    # ---- S4 ------------------------------------------------------------------------------
    o.append("## S4: light-load latency\n")
    if r["s4"]:
        x0 = r["s4"][0]
        o.append(f"{num(x0['subs'])} subscribers on 10 channels, {x0['rate']} events/s in all "
                 f"({num(x0['rate'] * x0['subs'] / 10)} deliveries/s).\n")
    nchan4 = find(r["s4"], "nchan")
    rows = []
    for x in r["s4"]:
        lat, rep = x["report"]["latency_us"], x["report"]
        rows.append([label(x["server"]), num(rep["received"]), rep["lost"], rep["duplicated"],
                     ms(lat["p50"]), ms(lat["p90"]), f"**{ms(lat['p99'])}**", ms(lat["p999"]),
                     ms(lat["max"]),
                     ratio(lat["p99"], nchan4["report"]["latency_us"]["p99"]) if nchan4 else "–",
                     f"{x['server_cpu_window']:.2f}", f"{x['bench_cpu_window']:.2f}"])
    o.append(table(["server", "deliveries", "lost", "dup", "p50", "p90", "p99", "p99.9", "max",
                    "p99 vs Nchan", "server CPU (s)", "bench CPU (s)"], rows))

    # ---- S5 ------------------------------------------------------------------------------
    o.append("## S5: reconnect storm\n")
    if r["s5"]:
        x0 = r["s5"][0]
        o.append(f"{num(x0['subs'])} subscribers on 10 channels, {x0['rate']} events/s; about 2 s "
                 "after the last connection (at a fixed time: the expected connect time + 2 s) "
                 "every stream drops at once and reconnects with `Last-Event-ID`. *all back after* = storm start to the last stream live "
                 "again. Pushpin (with this GRIP origin) and h3 keep no history, so a resume "
                 "there cannot be exact.\n")
    rows = []
    for x in r["s5"]:
        rep = x["report"]
        st = rep.get("storm") or {}
        rows.append([label(x["server"]), num(st.get("dropped")), num(st.get("reconnected")),
                     st.get("failed", "–"),
                     f"**{st['duration_ms']:.0f}**" if st else "–",
                     f"**{rep['lost']}**", f"**{rep['duplicated']}**", rep["reordered"],
                     num(rep["replayed"]), rep["gaps"], f"{x['server_cpu_run']:.2f}"])
    o.append(table(["server", "dropped", "back", "failed", "all back after (ms)", "lost",
                    "dup", "reordered", "replayed", "gap notices", "server CPU (s)"], rows))

    # ---- S6 ------------------------------------------------------------------------------
    o.append("## S6: slow clients\n")
    if r["s6"]:
        b0 = r["s6"][0]["base"]
        o.append(f"{num(b0['subs'])} subscribers on 10 channels, {b0['rate']} events/s of "
                 f"{_arg(b0, '--size')} bytes; run twice, without and with 10% of the "
                 "subscribers stalled (they stop reading once live, with a 4 KiB receive "
                 "buffer). Latency is the healthy subscribers'. The kernel holds about 3 MB per "
                 "stalled connection before a server's own buffers grow. sluice closes a client "
                 "more than `client_buffer` (256 KiB) behind; *slow closes* is its "
                 "`sluice_sse_slow_disconnects_total`. Pss includes each server's history "
                 "(sluice and Nchan: 1000 events per channel), the same in both runs.\n")
    rows = []
    for pair in r["s6"]:
        b, s = pair["base"], pair["slow"]
        bl, sl = b["report"]["latency_us"], s["report"]["latency_us"]
        rows.append([label(pair["server"]), f"{ms(bl['p50'])} / {ms(bl['p99'])}",
                     f"{ms(sl['p50'])} / {ms(sl['p99'])}", f"**{ratio(sl['p99'], bl['p99'])}**",
                     s["report"]["stalled"],
                     f"{b['pss_peak'] / 1024:.1f}", f"{s['pss_peak'] / 1024:.1f}",
                     "–" if s.get("slow_disconnects") is None else num(s["slow_disconnects"]),
                     f"{s['report']['lost']} / {s['report']['duplicated']}",
                     f"{b['server_cpu_window']:.2f} / {s['server_cpu_window']:.2f}"])
    o.append(table(["server", "p50 / p99 without", "p50 / p99 with 10% stalled",
                    "p99 ratio", "stalled", "Pss peak without (MiB)", "Pss peak with (MiB)",
                    "slow closes", "healthy lost / dup", "server CPU without / with (s)"],
                   rows))

    if r.get("tls") or r.get("handshakes"):
        o.append(tls_section(r))
    if r.get("rolling"):
        o.append(rolling_section(r["rolling"]))

    # ---- problems, quirks, commands ------------------------------------------------------
    if r["problems"]:
        o.append("## Problems during this run\n")
        o += [f"- {p}" for p in r["problems"]]
        o.append("")
    o.append("## Peer set-up and quirks\n")
    o.append(QUIRKS)
    o.append("## Exact commands\n")
    o.append("Servers (configs are filled in from `bench/peers/` into the work directory):\n")
    o.append("```\n" + SERVER_COMMANDS + "```\n")
    o.append("<details><summary>Every load-generator and floor command of this run, in "
             "order</summary>\n\n```")
    for server, scenario, argv in r["commands"]:
        o.append(f"# {scenario} {server}\n" + " ".join(shlex.quote(str(a)) for a in argv))
    o.append("```\n</details>\n")
    return "\n".join(o)


TRANSPORT_LABELS = {"plain": "HTTP/1.1", "tls": "HTTP/1.1 + TLS", "h2": "HTTP/2 + TLS"}


def tls_section(r):
    """S2 and S3 over TLS and HTTP/2 beside plain HTTP, and the CPU of a TLS connection."""
    o = ["## TLS and HTTP/2\n"]
    rows = r.get("tls", [])
    if rows:
        n = rows[0]["subs"]
        o.append(f"{num(n)} subscribers opened at 500/s (one sluice-bench process makes every "
                 "client handshake; more would measure the load generator), on every transport; "
                 "S2 on one channel at the rates shown, S3 with a channel each at 1 event/s. The same servers and configs as above with one more "
                 "listener: sluice's `tls:` listener (`http2: true`), Nchan behind nginx's own "
                 "`listen ... ssl http2` (OpenSSL 3 defaults on both: TLS 1.3, the same P-256 "
                 "certificate). sluice-bench speaks TLS with ALPN `http/1.1`, or `h2` with "
                 f"{100} streams per connection (`--h2-streams 100`). *vs plain* compares a "
                 "server's CPU per delivery with its own plain-HTTP row; *vs Nchan* compares "
                 "with Nchan on the same transport.\n")
        table_rows = []
        for x in rows:
            rep, lat = x["report"], x["report"]["latency_us"]
            base = x["server"].partition("+")[0]
            match = {"scenario": x["scenario"], "rate": x["rate"]}
            plain = next((y for y in rows if y["server"] == base and y["transport"] == "plain"
                          and all(y.get(k) == v for k, v in match.items())), None)
            ref = next((y for y in rows if y["server"].startswith("nchan") and
                        y["transport"] == x["transport"] and
                        all(y.get(k) == v for k, v in match.items())), None)
            table_rows.append([
                x["scenario"], label(base), TRANSPORT_LABELS[x["transport"]], num(x["rate"]),
                num(rep["received"]), f"{100 * rep['received'] / max(1, x['expected']):.1f}%",
                f"{rep['lost']} / {rep['duplicated']}", f"**{num(x['cpu_per_1m'], 2)}**",
                ratio(x["cpu_per_1m"], plain["cpu_per_1m"]) if plain and x is not plain else "–",
                (ratio(x["cpu_per_1m"], ref["cpu_per_1m"]) if ref and ref is not x else "–"),
                ms(lat["p50"]), ms(lat["p99"]), rep["failed"]])
        o.append(table(["scenario", "server", "transport", "rate /s", "deliveries", "delivered",
                        "lost / dup", "CPU-s per 1M", "vs plain", "vs Nchan", "p50", "p99",
                        "failed"], table_rows))
    hs = r.get("handshakes", [])
    if hs:
        h = hs[0]["report"]["connections"]
        o.append(f"**Per stream.** {num(h)} streams opened at 250/s and held, nothing "
                 "published: server CPU over the whole run and Pss growth (at the end against "
                 "before), divided by the streams connected. TLS minus plain is what a full "
                 "TLS handshake (no resumption: the bench offers no ticket) and a TLS session "
                 "cost; over HTTP/2, 100 streams share a connection, its handshake and its "
                 "HTTP/2 session (nghttp2's for sluice).\n")
        rows2 = []
        for base in ("sluice-w1", "nchan"):
            by = {x["transport"]: x for x in hs if x["base"] == base}
            p = by.get("plain")
            if not p or p["cpu_per_conn_us"] is None:
                continue
            row = [label(base)]
            for t in ("plain", "tls", "h2"):
                x = by.get(t)
                row.append("–" if not x or x["cpu_per_conn_us"] is None else
                           f"{num(x['cpu_per_conn_us'], 1)} / "
                           f"{'–' if x.get('pss_per_conn_kib') is None else num(x['pss_per_conn_kib'], 2)}")
            t = by.get("tls")
            row.append("–" if not t or t["cpu_per_conn_us"] is None else
                       f"**{num(t['cpu_per_conn_us'] - p['cpu_per_conn_us'], 1)}**")
            rows2.append(row)
        o.append(table(["server", "plain: µs CPU / KiB Pss per stream", "TLS: µs / KiB",
                        "HTTP/2 + TLS: µs / KiB", "µs per TLS handshake (TLS − plain)"],
                       rows2))
    return "\n".join(o)


def rolling_section(runs):
    """This run's bench/rolling figures (the hand-written "Rolling restart" section keeps
    the comparison with a binary from before drain_pace)."""
    o = ["## Rolling restart: this run\n"]
    x = runs[0]
    o.append(f"`bench/rolling/rolling_restart.py`: {x['clients']:,} EventSource-like clients "
             "through haproxy on three sluice instances (one Redis, sequenced events), each "
             "instance stopped with SIGTERM and started again in turn.\n")
    rows = [[f"`drain_pace: {r['drain_pace']}`", "yes" if r["exact"] else "**no**",
             "yes" if r["clean_exits"] else "**no**", num(r["reconnects"]),
             f"**{num(r['peak_reconnects_per_s_1s'])}**", num(r["peak_reconnects_per_s_100ms"]),
             ", ".join(f"{w:g}" for w in r["reconnect_wave_s"])] for r in runs]
    o.append(table(["drain", "exact", "exits 0", "reconnects", "peak reconnects/s (any 1 s)",
                    "peak/s (any 100 ms)", "wave per restart (s)"], rows))
    return "\n".join(o)


def _arg(res, flag):
    """The value of `flag` on the sluice-bench command line of a result."""
    argv = res.get("argv")
    if argv is None:
        return "–"
    return argv[argv.index(flag) + 1] if flag in argv else "–"


def load_table(rows_in, all_rows, floor, by_rate, paced=None):
    """`floor`: the back-to-back floor; `paced`: rate -> the paced floor at that rate."""
    rows = []
    for x in rows_in:
        rep, lat = x["report"], x["report"]["latency_us"]
        match = {"rate": x["rate"]} if by_rate else {}
        ref = find(all_rows, "nchan", **match)
        if x["server"] == "h3":
            ref = find(all_rows, "sluice-w1-redis", **match)
            ref_note = " (vs sluice Redis)"
        else:
            ref_note = ""
        ref_cpu = ref["cpu_per_1m"] if ref and ref["server"] != x["server"] else None
        per1m = x["cpu_per_1m"]
        rows.append([
            label(x["server"]), num(x["rate"]), f"{rep['publish']['rate']:.0f}",
            num(rep["received"]), f"{100 * rep['received'] / max(1, x['expected']):.1f}%",
            rep["lost"], rep["duplicated"], num(x["deliveries_per_s"]),
            f"{x['server_cpu_window']:.2f}", f"**{num(per1m, 2)}**",
            (ratio(per1m, ref_cpu) + ref_note) if ref_cpu else "–",
            num(x["deliveries_per_cpu_s"]),
            of(x, floor),
            of(x, (paced or {}).get(x["rate"])),
            ms(lat["p50"]), ms(lat["p99"]), ms(lat["p999"]), ms(lat["max"]),
            f"{x['bench_cpu_window']:.2f}", rep["failed"], rep["disconnects"],
        ])
    return table(["server", "target /s", "published /s", "deliveries", "delivered", "lost",
                  "dup", "deliveries /s", "server CPU (s)", "CPU-s per 1M", "vs Nchan",
                  "deliveries / CPU-s", "of floor", "of paced floor", "p50", "p99", "p99.9", "max",
                  "bench CPU (s)", "failed", "server closes"], rows)


def of(x, floor):
    """A memory-broker row's deliveries per CPU-second as a share of a floor."""
    if not floor or "redis" in x["server"] or x["server"] in ("h3", "sluice-w1-cluster"):
        return "–"
    return f"{100 * x['deliveries_per_cpu_s'] / floor:.0f}%"


def targets(r, quick):
    lines = []

    def check(ok, text):
        mark = "–" if ok is None else ("met" if ok else "**not met**")
        lines.append(f"| {text} | {mark} |")

    # S2 and S3 CPU per delivery vs Nchan; S2 vs the floor.
    for scen in ("s2", "s3"):
        for x in r[scen]:
            if x["server"] not in ("sluice-w1", "sluice-w1-uring"):
                continue
            who = "sluice" if x["server"] == "sluice-w1" else "sluice with io_uring"
            ref = find(r[scen], "nchan", rate=x["rate"]) if scen == "s2" else \
                find(r[scen], "nchan")
            if ref and x["cpu_per_1m"] and ref["cpu_per_1m"]:
                q = x["cpu_per_1m"] / ref["cpu_per_1m"]
                check(q <= 0.5, f"{scen.upper()} at {x['rate']}/s: {who} CPU per delivery "
                      f"{q:.2f}× Nchan's (target ≤ 0.5×)")
            if scen == "s3" and ref and x["server"] == "sluice-w1":
                q = x["report"]["latency_us"]["p99"] / max(1, ref["report"]["latency_us"]["p99"])
                check(q <= 0.5, f"S3: sluice p99 {q:.2f}× Nchan's (issue 12 target ≤ 0.5×)")
            if x["server"] != "sluice-w1":
                continue
            if scen == "s2":
                fl = floor_rate(r, "broadcast", x["subs"])
                if fl and x["deliveries_per_cpu_s"]:
                    q = x["deliveries_per_cpu_s"] / fl
                    check(q >= 0.5, f"S2 at {x['rate']}/s: sluice deliveries per CPU-second "
                          f"{100 * q:.0f}% of the floor's (target ≥ 50%)")
                pf = floor_rate(r, "broadcast", x["subs"], rate=x["rate"])
                if pf and x["deliveries_per_cpu_s"]:
                    check(None, f"S2 at {x['rate']}/s: sluice deliveries per CPU-second "
                          f"{100 * x['deliveries_per_cpu_s'] / pf:.0f}% of the paced floor's "
                          f"(issue 12: stated, no target)")
    for x in r["s1"]:
        if x["server"] == "sluice-w1" and x["report"]["connections"] == max(
                y["report"]["connections"] for y in r["s1"] if y["server"] == "sluice-w1"):
            n = x["report"]["connections"]
            check(x["pss_per_stream_kib"] <= 2.0 if n >= 15000 else None,
                  f"S1: {x['pss_per_stream_kib']:.2f} KiB per idle stream at {num(n)} streams "
                  f"in one process (target ≤ 2 KiB at 15,000)")
    sm = r.get("s1_machine")
    if sm:
        check(sm["open"] >= 100000 if sm["target"] >= 100000 else None,
              f"S1: {num(sm['open'])} streams held on the machine by {sm['processes']} "
              f"processes, max {max(sm['fds']) if sm['fds'] else '?'} descriptors each "
              f"(target 100,000, each under 20k)")
    s4 = find(r["s4"], "sluice-w1")
    n4 = find(r["s4"], "nchan")
    if s4 and n4:
        q = s4["report"]["latency_us"]["p99"] / max(1, n4["report"]["latency_us"]["p99"])
        check(q <= 0.5, f"S4: sluice p99 {q:.2f}× Nchan's (target ≤ 0.5×)")
    s5 = find(r["s5"], "sluice-w1")
    if s5:
        rep = s5["report"]
        st = rep.get("storm") or {}
        ok = (st.get("reconnected") == st.get("dropped") and rep["lost"] == 0 and
              rep["duplicated"] == 0 and st.get("failed") == 0)
        check(ok if s5["subs"] >= 10000 else (ok if ok is False else None),
              f"S5: {num(st.get('reconnected'))} of {num(st.get('dropped'))} resumed, "
              f"{rep['lost']} lost, {rep['duplicated']} duplicated (target: all 10,000, 0 / 0)")
    for pair in r["s6"]:
        if pair["server"] == "sluice-w1":
            q = pair["slow"]["report"]["latency_us"]["p99"] / max(
                1, pair["base"]["report"]["latency_us"]["p99"])
            check(q <= 2.0, f"S6: healthy p99 with 10% stalled {q:.2f}× without (target ≤ 2×)")
    # Issue 12: a second worker costs no more than 10% per delivery and in memory, and does
    # not worsen latency.
    w1, w2 = find(r["s3"], "sluice-w1"), find(r["s3"], "sluice-w2")
    if w1 and w2 and w1["cpu_per_1m"] and w2["cpu_per_1m"]:
        q = w2["cpu_per_1m"] / w1["cpu_per_1m"]
        check(q <= 1.1, f"S3: CPU per delivery with 2 workers {q:.2f}× 1 worker's "
              f"(issue 12 target ≤ 1.1×)")
    p1 = next((x for x in r["s6"] if x["server"] == "sluice-w1"), None)
    p2 = next((x for x in r["s6"] if x["server"] == "sluice-w2"), None)
    if p1 and p2:
        q = p2["base"]["pss_peak"] / max(1, p1["base"]["pss_peak"])
        check(q <= 1.1, f"S6: Pss peak with 2 workers {q:.2f}× 1 worker's "
              f"(issue 12 target ≤ 1.1×)")
    for scen in ("s2", "s4"):
        for x in r[scen]:
            if x["server"] != "sluice-w1":
                continue
            y = find(r[scen], "sluice-w2", rate=x["rate"])
            if y:
                a, b = x["report"]["latency_us"]["p99"], y["report"]["latency_us"]["p99"]
                check(b <= a, f"{scen.upper()} at {x['rate']}/s: p99 with 2 workers "
                      f"{ms(b)} ms, with 1 {ms(a)} ms (issue 12 target: no worse)")
    head = "| target | result |\n|---|---|\n"
    note = ("\n*–* = not judged: the quick run's counts are below the target's.\n" if quick
            else "")
    return head + "\n".join(lines) + "\n" + note


QUIRKS = """\
- **Nchan** (Debian nginx 1.22 + libnginx-mod-nchan 1.3.6): `bench/peers/nchan/nginx.conf.template`,
  one worker, `nchan_message_buffer_length 1000` (history for `Last-Event-ID`, like sluice's
  routes), `nchan_max_reserved_memory 1024M`. Its HTTP publish answers only after the fan-out,
  so one channel's publish rate is bounded by one connection's round trips: sluice-bench uses
  8 publisher connections (channel c on connection c % 8 keeps each channel in order).
- **Pushpin** 1.36 (Debian, condure + zurl): `bench/peers/pushpin/`. `message_rate=0`
  switches off the handler's rate limiter, which otherwise stalls delivery above about 40
  publishes/s. The publish endpoint (`POST /publish/`, GRIP JSON items; sluice-bench
  `--publish-format pushpin`) answers `Connection: close` after every request, so sluice-bench
  sends one request per connection on 8 connections and resends what a close left
  unanswered. zurl is started by compare.py with larger queues than the runner's default
  (`zurl.conf.template`), and pushpin-proxy's `max_open_requests` is raised; even so,
  pushpin-proxy answers 502 (`target error ... condition=8`) to some clients when more than
  about 1,000 connect per second on this machine, so Pushpin is ramped at 1,000/s (and the S5
  storm, which reconnects everything at once, shows those failures). The GRIP origin
  (`grip_origin.py`, Python standard library) keeps no history, so resumes lose what was
  published during the gap. Its CPU is not counted as Pushpin's.
- **h3** (Nuxt/Nitro's way): `bench/peers/h3/server.mjs`, h3 1.15 `createEventStream` per
  client and one shared ioredis subscriber (`PSUBSCRIBE bench:*`) dispatching to the streams
  of each channel. h3 sends no response headers until the first event, so the server pushes
  one `{"type":"hello"}` event per stream (without it a client sees nothing until the first
  publish; `--no-hello` restores the bare pattern). No history, no ids: resumes are not exact.
- **sluice**: `bench/peers/sluice/bench.yaml.template`, memory broker with HTTP publish
  (4 pipelined connections), or Redis broker with `PUBLISH` from sluice-bench. Release build.
"""

SERVER_COMMANDS = """\
sluice -c WORK/sluice-w1/sluice.yaml            # bench/peers/sluice/bench.yaml.template
nginx -p WORK/nchan -c WORK/nchan/nginx.conf -e WORK/nchan/error.log
python3 bench/peers/pushpin/grip_origin.py 28115
zurl --config=WORK/pushpin/zurl.conf
pushpin --config WORK/pushpin/pushpin.conf
redis-server --port 28106 --bind 127.0.0.1 --save '' --appendonly no
node bench/peers/h3/server.mjs 28105 28106
"""


# Sections written by hand or by other tools (bench/soak, bench/rolling,
# bench/scripts/plugin_cost.py), carried over when compare.sh regenerates the file.
KEPT_SECTIONS = (
    "## The missed targets: what the profile says and what would close them",
    "## Honest floor",
    "## Chaos soak",
    "## Rolling restart",
    "## Plugin cost",
    # Rendered by compare.py when the run measured them (--only TLS, --only rolling, or the
    # full run); kept from the previous file by a run that did not.
    "## TLS and HTTP/2",
    "## Rolling restart: this run",
)


def kept_sections(path, rendered=""):
    """The kept sections of the existing file at `path`, each up to the next '## ', less
    those whose heading `rendered` (the new file's text) has already."""
    fresh = {line.rstrip() for line in rendered.splitlines() if line.startswith("## ")}
    try:
        with open(path) as f:
            lines = f.read().splitlines(keepends=True)
    except OSError:
        return ""
    out, keep = [], False
    for line in lines:
        if line.startswith("## "):
            keep = line.rstrip() in KEPT_SECTIONS and line.rstrip() not in fresh
            if keep and out and not out[-1].endswith("\n\n"):
                out.append("\n")
        if keep:
            out.append(line)
    return ("\n" + "".join(out)) if out else ""
