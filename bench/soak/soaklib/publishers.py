"""Workers publishing to Redis, one task and one connection per channel, each channel in
one mode: sequenced (`FCALL sluice_publish 1 <channel> <payload> [name]`) or plain
(`PUBLISH`). Every payload carries the channel name and the publisher's own counter, and
the outcome of every publish goes into the channel's ChannelLog:

- acked: FCALL returned the position / PUBLISH returned its receiver count;
- failed: Redis answered an error, or (sequenced) the event is not in the Redis log
  after the connection broke before the reply;
- uncertain: plain PUBLISH sent, connection broken before the reply (it may or may not
  have reached sluice).

While Redis is unreachable the publisher waits; it spends no counters."""

import asyncio
import json

from . import check
from .resp import Resp, RespError

KEY_PREFIX = "soak:"


def log_key(channel):
    return f"{KEY_PREFIX}{{{channel}}}:log"


def payload(channel, counter, kind="soak", pad=0):
    body = {"type": kind, "ch": channel, "c": counter}
    if pad:
        body["pad"] = "x" * pad
    return json.dumps(body, separators=(",", ":"))


class Publisher:
    """kind: "steady" (rate events/s, jittered), or "burst" (burst_size events in one
    pipeline, then burst_every seconds of silence)."""

    def __init__(self, world, log, kind, rate=1.0, burst_size=0, burst_every=0.0, pad=0):
        self.world = world
        self.log = log
        self.kind = kind
        self.rate = rate
        self.burst_size = burst_size
        self.burst_every = burst_every
        self.pad = pad
        self.conn = None
        self.unresolved = []  # sequenced counters whose FCALL outcome is unknown

    def command(self, counter, kind="soak"):
        data = payload(self.log.name, counter, kind, self.pad if kind == "soak" else 0)
        if self.log.mode == check.SEQ:
            name = self.log.event_name(counter, kind)
            return ["FCALL", "sluice_publish", 1, self.log.name, data] + ([name] if name else [])
        return ["PUBLISH", self.log.name, data]

    async def connected(self, check_alive=False):
        """A live connection, waiting while Redis is down or loading its data; None if
        the load ended meanwhile. check_alive: PING an existing connection first (after
        a long idle time Redis may have restarted under it)."""
        w = self.world
        while True:
            if self.conn is not None and check_alive:
                try:
                    await self.conn.cmd("PING", timeout=5.0)
                except (ConnectionError, OSError, RespError):
                    self.drop()
            if self.conn is None:
                try:
                    self.conn = await Resp.connect("127.0.0.1", w.redis.port, timeout=2.0)
                except (OSError, TimeoutError):
                    if w.load_over.is_set():
                        return None
                    await asyncio.sleep(0.1)
                    continue
            if self.unresolved:
                try:
                    await self.resolve()
                except (ConnectionError, OSError):
                    self.drop()
                    await asyncio.sleep(0.1)
                    continue
                except RespError:  # LOADING: Redis is reading its append-only file
                    await asyncio.sleep(0.1)
                    continue
            return self.conn

    def drop(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    async def publish(self, counters, kind="soak"):
        """Publishes the given counters in one pipeline and records every outcome.
        Returns False if the connection broke."""
        w = self.world
        expected = w.instances_up()
        try:
            replies = await self.conn.pipeline([self.command(c, kind) for c in counters])
            ok = True
        except ConnectionError as e:
            replies = e.replies
            ok = False
            self.drop()
        t = w.now()
        for c, reply in zip(counters, replies):
            self.record(c, reply, t, expected)
        for c in counters[len(replies):]:
            if self.log.mode == check.SEQ:
                self.unresolved.append(c)
                self.log.record(c, check.UNCERTAIN, t)
            else:
                self.log.record(c, check.UNCERTAIN, t, expected=expected)
        return ok

    def record(self, counter, reply, t, expected):
        rep = self.world.report
        if isinstance(reply, RespError) or not isinstance(reply, int):
            self.log.record(counter, check.FAILED, t)
            rep.warning(f"publish error ({self.log.mode})", example=str(reply)[:120])
            return
        if self.log.mode == check.SEQ:
            restart = self.log.record(counter, check.ACKED, t, position=reply)
            if restart:
                rt, old, new = restart
                rep.violation(check.POSITION_REUSE, t=round(rt, 3), channel=self.log.name,
                              mode=self.log.mode, client="publisher",
                              got=f"FCALL returned position {new}",
                              expected=f"position > {old}",
                              detail="the channel's positions started over in Redis "
                                     "(its keys expired or were lost), so positions are "
                                     "reused")
        else:
            self.log.record(counter, check.ACKED, t, receivers=reply, expected=expected)

    async def resolve(self):
        """After a reconnect: which of the unresolved FCALLs did Redis store? Looks for
        their counters in the channel's Redis log (only this publisher writes to it)."""
        want = set(self.unresolved)
        entries = await self.conn.cmd("XREVRANGE", log_key(self.log.name), "+", "-",
                                      "COUNT", max(200, 2 * len(want)))
        t = self.world.now()
        found = {}
        for entry_id, fields in entries or []:
            pos = int(entry_id.decode().split("-")[0])
            kv = dict(zip(fields[::2], fields[1::2]))
            try:
                c = json.loads(kv.get(b"p", b"{}")).get("c")
            except ValueError:
                continue
            if c in want:
                found[c] = pos
        for c in sorted(want):
            if c in found:
                self.record(c, found[c], t, None)
            else:
                self.log.record(c, check.FAILED, t)
        self.world.report.count("sequenced publishes resolved after a lost reply", len(want))
        self.unresolved = []

    async def run(self):
        w = self.world
        rng = w.rng
        while not w.load_over.is_set():
            if await self.connected(check_alive=self.kind == "burst") is None:
                break
            if self.kind == "burst":
                n = self.burst_size
                await self.publish([self.log.new_counter() for _ in range(n)])
                await w.sleep_unless_over(self.burst_every * rng.uniform(0.9, 1.1))
            else:
                await self.publish([self.log.new_counter()])
                await w.sleep_unless_over(rng.uniform(0.5, 1.5) / self.rate)
        self.drop()

    async def finish(self, timeout=20.0):
        """Publishes the channel's terminal event ({"type":"done"}); returns an error
        text or None. Plain: it must reach every instance."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.connected(check_alive=True)
                    if self.conn is None:
                        await asyncio.sleep(0.2)
                        continue
                    c = self.log.new_counter()
                    ok = await self.publish([c], kind="done")
                    entry = self.log.entry(c)
                    if ok and entry[0] == check.ACKED:
                        break
                    await asyncio.sleep(0.2)
        except TimeoutError:
            self.drop()
            return "could not publish the terminal event"
        self.log.final = c
        self.drop()
        if self.log.mode == check.PLAIN and entry[3] < entry[4]:
            return f"terminal PUBLISH reached {entry[3]} of {entry[4]} instances"
        return None
