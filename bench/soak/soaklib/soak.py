"""One soak run, start to end: Redis and two sluice instances, publishers, clients, the
chaos schedule, the end of the load (terminal events, final reads), memory, the SIGTERM
of both instances with streams open, and the verdict."""

import asyncio
import os
import random
import shutil
import tempfile

from . import chaos, check, http, observe, sluice_config
from .clients import PollClient, SseClient
from .procs import RedisProc, SluiceProc
from .publishers import Publisher
from .world import World


def make_channels(world):
    """(ChannelLog, Publisher, route, poll route, path id) per channel; modes alternate
    sequenced / plain within each class."""
    o = world.opts
    out = []

    def add(prefix, ident, kind, i, **kw):
        mode = check.SEQ if i % 2 == 0 else check.PLAIN
        pid = f"{ident}{i}-{'seq' if mode == check.SEQ else 'plain'}"
        log = check.ChannelLog(f"{prefix}:{pid}", mode)
        route, poll = ("/s/", "/p/") if prefix == sluice_config.STEADY_PREFIX else ("/b/", "/pb/")
        out.append((log, Publisher(world, log, kind, **kw), route, poll, pid))

    for i in range(o.channels):
        add(sluice_config.STEADY_PREFIX, "st", "steady", i, rate=o.rate)
    for i in range(o.hot_channels):
        add(sluice_config.STEADY_PREFIX, "hot", "steady", i, rate=o.hot_rate)
    for i in range(o.burst_channels):
        add(sluice_config.BURST_PREFIX, "b", "burst", i, burst_size=o.burst_size,
            burst_every=o.burst_every, pad=o.burst_pad)
    return out


async def hold_streams(world, n):
    """n fresh streams per instance on channels nobody publishes to, kept open."""
    held = []
    for inst in world.instances:
        for k in range(n):
            try:
                reader, writer = await http.connect(inst.port, http.source_ip(k), 5.0)
                writer.write(http.request("GET", f"/s/idle-{inst.name}-{k}", inst.port))
                async with asyncio.timeout(10.0):
                    status, _ = await http.read_head(reader)
                if status == 200:
                    held.append((inst, reader, writer))
                else:
                    writer.close()
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                continue
    return held


async def closed_by_server(reader, timeout):
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
        return True
    except (TimeoutError, OSError, ConnectionError):
        return False


async def run(opts):
    report = check.Report()
    rng = random.Random(opts.seed)
    world = World(opts, report, rng)
    workdir = opts.workdir or tempfile.mkdtemp(prefix="sluice-soak-")
    os.makedirs(workdir, exist_ok=True)
    world.note("work directory", path=workdir)
    redis = RedisProc(opts.redis_server, workdir)
    world.redis = redis
    a = SluiceProc("A", opts.sluice, workdir, redis.port, opts)
    b = SluiceProc("B", opts.sluice_b or opts.sluice, workdir, redis.port, opts)
    world.instances = [a, b]
    mem = observe.MemoryWatch(world)
    channels, clients, tasks = [], [], []
    result = {"workdir": workdir}
    try:
        await redis.start()
        await a.start()
        await b.start()
        world.note("redis and both sluice instances ready", redis=redis.port, A=a.port,
                   B=b.port, B_sanitized=b.sanitized)
        await asyncio.sleep(1.0)
        for inst in world.instances:
            mem.sample(inst, "before")
        tasks.append(asyncio.create_task(mem.run()))

        channels = make_channels(world)
        world.load_start = world.now()
        world.load_end = world.load_start + opts.duration
        pub_tasks = [asyncio.create_task(p.run()) for _, p, _, _, _ in channels]
        await asyncio.sleep(1.0)
        clients = make_clients(world, channels)
        client_tasks = []
        for k, c in enumerate(clients):
            client_tasks.append(asyncio.create_task(c.run()))
            if k % 50 == 49:
                await asyncio.sleep(50 / opts.ramp)
        world.note("clients started", sse=opts.streams, poll=opts.pollers)
        chaos_task = asyncio.create_task(
            chaos.run(world, on_restart=lambda inst: mem.sample(inst, "before")))

        await asyncio.sleep(max(0.0, world.load_end - world.now()))
        world.load_over.set()
        world.note("load over: publishers stop, clients finish their sessions")
        await asyncio.gather(*pub_tasks)
        await asyncio.wait_for(chaos_task, 120)
        for inst in world.instances:
            if not inst.up or not await inst.wait_ready(30.0):
                report.violation(check.HARNESS, detail=f"sluice {inst.name} not ready at "
                                                       f"the end of the load")
        errors = await asyncio.gather(*(p.finish() for _, p, _, _, _ in channels))
        for (log, *_), err in zip(channels, errors):
            if err:
                report.violation(check.HARNESS, channel=log.name, detail=err)
        world.note("terminal events published; final reads")
        world.final_go.set()
        done, pending = await asyncio.wait(client_tasks, timeout=opts.final_timeout + 60)
        for t in pending:
            t.cancel()
        if pending:
            report.violation(check.HARNESS, detail=f"{len(pending)} clients did not finish "
                                                   f"their final reads in time")
        for t in done:
            if t.exception():
                report.violation(check.HARNESS, detail=f"client crashed: {t.exception()!r}")
        world.note("all clients closed")
        await asyncio.sleep(opts.settle)
        for inst in world.instances:
            mem.sample(inst, "after")
        result["metrics"] = {i.name: await observe.scrape(i) for i in world.instances}

        held = await hold_streams(world, opts.leak_streams)
        world.note("SIGTERM both instances", open_streams=len(held))
        stops = await asyncio.gather(*(i.stop() for i in world.instances))
        for inst, (code, problems) in zip(world.instances, stops):
            world.exits.append({"instance": inst.name, "process": inst.process_gen,
                                "when": "final, streams open", "code": code,
                                "problems": problems, "sanitized": inst.sanitized})
            if problems:
                report.violation(check.EXIT, instance=inst.name, detail="; ".join(problems),
                                 stderr_tail=inst.stderr_text()[-2000:])
        closed = await asyncio.gather(*(closed_by_server(r, 5.0) for _, r, _ in held))
        for _, _, w in held:
            w.close()
        if held and not all(closed):
            report.warning("streams not closed by the drain", n=closed.count(False))
        world.note("both instances exited", codes=[c for c, _ in stops])
    except Exception as e:  # the verdict must still be written
        report.violation(check.HARNESS, detail=f"the soak stopped early: {e!r}")
        world.note("soak error", error=repr(e))
    finally:
        for t in tasks:
            t.cancel()
        for inst in world.instances:
            inst.kill()
        try:
            await redis.stop()
        except RuntimeError:
            redis.kill()
    for c in clients:
        c.ledger.finish(world.outages)
    result.update(verdict(world, mem, channels, clients))
    if not opts.keep and result["ok"]:
        shutil.rmtree(workdir, ignore_errors=True)
        result["workdir"] = None
    return result


def make_clients(world, channels):
    o = world.opts
    out = []
    for i in range(o.streams + o.pollers):
        log, _, route, poll, pid = channels[i % len(channels)]
        home = world.instances[(i // len(channels)) % len(world.instances)]
        if i < o.streams:
            out.append(SseClient(world, i, log, pid, route, home))
        else:
            out.append(PollClient(world, i, log, pid, poll, home))
    return out


def rss_check(world, mem):
    """After the clients closed, each instance (that lived through the load, not an ASan
    build) must be back within the limit of its RSS before the load."""
    o = world.opts
    limit_kib = o.rss_growth_limit_mib * 1024
    for rec in mem.procs.values():
        if rec["after_rss_kib"] is None or rec["before_rss_kib"] is None:
            continue
        growth = rec["after_rss_kib"] - rec["before_rss_kib"]
        rec["growth_kib"] = growth
        rec["growth_limit_kib"] = limit_kib
        if rec["sanitized"]:
            rec["growth_checked"] = False
            continue
        rec["growth_checked"] = True
        if growth > limit_kib:
            world.report.violation(check.RSS_GROWTH, instance=rec["instance"],
                                   got=f"VmRSS {rec['after_rss_kib']} KiB after the clients "
                                       f"closed", expected=f"at most {rec['before_rss_kib']} "
                                       f"+ {limit_kib} KiB (before the load + limit)")


def verdict(world, mem, channels, clients):
    rep, o = world.report, world.opts
    rss_check(world, mem)
    for inst in world.instances:
        inst_logs = {}
        for gen in range(1, inst.process_gen + 1):
            inst_logs[f"process {gen}"] = observe.error_log_summary(inst.stderr_text(gen))
        rep.counts[f"error log {inst.name}"] = inst_logs
    pubs = {}
    for log, *_ in channels:
        for status, *_ in log.entries.values():
            key = f"{log.mode} {status}"
            pubs[key] = pubs.get(key, 0) + 1
    return {
        "ok": rep.ok(o.strict_plain),
        "options": {k: v for k, v in vars(o).items()},
        "instances": {i.name: {"binary": i.binary, "sanitized": i.sanitized, "port": i.port,
                               "workers": o.workers, "process_starts": i.process_gen,
                               "reload_generation": i.generation,
                               "access_log": observe.access_summary(i.access_log)}
                      for i in world.instances},
        "events_received": sum(c.ledger.events for c in clients),
        "publishes": pubs,
        "memory": list(mem.procs.values()),
        "exits": world.exits,
        "violation_counts": rep.violation_counts,
        "violation_spread": {k: {"clients": len(c), "channels": sorted(ch),
                                 "by_mode": rep.by_mode.get(k, {})}
                             for k, (c, ch) in rep.spread.items()},
        "violations": rep.violations,
        "holes_not_violations": rep.losses,
        "gaps_by_reason": rep.gaps,
        "warnings": rep.warnings,
        "counts": rep.counts,
        "outage_windows": [(round(a, 2), round(b, 2), w) for a, b, w in world.outages],
        "timeline": world.timeline,
        "duration_s": round(world.now(), 1),
    }
