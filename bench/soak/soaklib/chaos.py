"""The chaos schedule and its actions. Times are fractions of the load phase, so the
30-second run and the 10-minute run go through the same sequence:

  pub/sub kill  12%  40%  63%  85%   CLIENT KILL TYPE pubsub (both instances' subscribers)
  SIGHUP both   20%  55%  78%        new config generation; the new marker route must serve
  restart B     30%                  SIGTERM (exit 0, no sanitizer report), start again
  restart Redis 48%                  SIGTERM (append-only file flushed), start again

Each kill or Redis stop records an outage window (from 0.2 s before it) in which a plain
PUBLISH acknowledged by every subscriber may still be lost with the killed connection;
while a subscriber is away, PUBLISH itself reports fewer receivers."""

import asyncio

from . import check
from .resp import Resp, RespError

SCHEDULE = [
    (0.12, "pubsub_kill"), (0.20, "reload"), (0.30, "restart_instance"),
    (0.40, "pubsub_kill"), (0.48, "restart_redis"), (0.55, "reload"),
    (0.63, "pubsub_kill"), (0.78, "reload"), (0.85, "pubsub_kill"),
]


async def run(world, on_restart=None):
    """Runs the schedule; on_restart(instance) is called once a restarted instance is
    ready (the memory sampler takes its new baseline)."""
    actions = {"pubsub_kill": pubsub_kill, "reload": reload_all,
               "restart_instance": restart_instance, "restart_redis": restart_redis}
    for fraction, name in SCHEDULE:
        delay = world.load_start + fraction * world.opts.duration - world.now()
        if delay > 0:
            await world.sleep_unless_over(delay)
        if world.load_over.is_set():
            world.note(f"chaos {name} skipped: the load is over")
            continue
        try:
            if name == "restart_instance":
                await restart_instance(world, on_restart)
            else:
                await actions[name](world)
        except (OSError, ConnectionError, RespError, RuntimeError, TimeoutError) as e:
            world.report.violation(check.HARNESS, t=round(world.now(), 3),
                                   detail=f"chaos {name} failed: {e!r}")
            world.note(f"chaos {name} FAILED", error=repr(e))


async def pubsub_kill(world):
    t = world.now()
    world.outages.append((t - 0.2, t + 0.5, "pub/sub kill"))
    r = await Resp.connect("127.0.0.1", world.redis.port)
    try:
        killed = await r.cmd("CLIENT", "KILL", "TYPE", "pubsub")
    finally:
        r.close()
    world.note("chaos: CLIENT KILL TYPE pubsub", killed=killed)
    if killed < world.instances_up():
        world.report.warning("CLIENT KILL TYPE pubsub killed fewer subscribers than "
                             "instances up", example={"t": round(t, 1), "killed": killed})
    for inst in world.instances:
        if inst.up and not await inst.wait_ready(30.0):
            world.report.violation(check.HARNESS, t=round(world.now(), 3),
                                   detail=f"sluice {inst.name} not ready 30 s after a "
                                          f"pub/sub kill")
    world.note("all instances ready again")


async def reload_all(world):
    for inst in world.instances:
        if not inst.up:
            continue
        ok = await inst.reload()
        world.note(f"chaos: SIGHUP {inst.name}", generation=inst.generation, applied=ok)
        if not ok:
            world.report.violation(check.RELOAD, t=round(world.now(), 3), instance=inst.name,
                                   detail=f"generation {inst.generation}: the new marker "
                                          f"route did not answer 200 (or the old one still "
                                          f"did) within 15 s of SIGHUP")


async def restart_instance(world, on_restart=None):
    """SIGTERM the last instance with its streams open; start it again on its port."""
    inst = world.instances[-1]
    world.note(f"chaos: SIGTERM {inst.name}", pid=inst.pid)
    code, problems = await inst.stop()
    world.note(f"{inst.name} exited", code=code, problems=problems)
    if problems:
        world.report.violation(check.EXIT, t=round(world.now(), 3), instance=inst.name,
                               detail="; ".join(problems),
                               stderr_tail=inst.stderr_text()[-2000:])
    world.exits.append({"instance": inst.name, "process": inst.process_gen, "when":
                        "restart under load", "code": code, "problems": problems,
                        "sanitized": inst.sanitized})
    await asyncio.sleep(world.opts.instance_down_s)
    await inst.start()
    world.note(f"{inst.name} started again", pid=inst.pid)
    if on_restart:
        on_restart(inst)


async def restart_redis(world):
    t = world.now()
    world.outages.append((t - 0.2, t, "Redis restart"))
    code = await world.redis.stop()
    world.note("chaos: redis-server stopped (SIGTERM)", code=code)
    await asyncio.sleep(world.opts.redis_down_s)
    await world.redis.start()
    world.note("redis-server started again (append-only file reloaded)")
    for inst in world.instances:
        if inst.up and not await inst.wait_ready(30.0):
            world.report.violation(check.HARNESS, t=round(world.now(), 3),
                                   detail=f"sluice {inst.name} not ready 30 s after Redis "
                                          f"came back")
    world.outages[-1] = (t - 0.2, world.now(), "Redis restart")
    world.note("all instances ready again")
