"""The soak's clients. An SseClient holds one stream at a time on one channel: it reads
for a while, closes, pauses, and resumes with Last-Event-ID or ?position=N (sequenced
channels: on the other instance; plain channels: on its home instance, since plain
positions belong to the process). A PollClient long-polls the same channels. Both feed
everything they receive to their StreamLedger. When the load ends, each reads on until
its channel's terminal event, then checks that resuming at it is answered "ended"."""

import asyncio
import json

from . import check, http


class BlockParser:
    """Splits an event stream into blocks: (id, event, data, comments). sluice ends lines
    with LF; CRLF and CR are accepted too."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        buf = self.buf + data
        if b"\r" in buf:
            if buf.endswith(b"\r"):  # a CR at the end may be half of a CRLF
                self.buf = buf
                return []
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts = buf.split(b"\n\n")
        self.buf = parts.pop()
        out = []
        for part in parts:
            eid = event = None
            data_lines = []
            comments = 0
            for line in part.split(b"\n"):
                if not line:
                    continue
                if line[:1] == b":":
                    comments += 1
                    continue
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"data":
                    data_lines.append(value)
                elif field == b"id":
                    eid = value.decode("utf-8", "replace")
                elif field == b"event":
                    event = value.decode("utf-8", "replace")
            data = b"\n".join(data_lines).decode("utf-8", "replace") if data_lines else None
            out.append((eid, event, data, comments))
        return out


class Client:
    """What SSE and poll clients share: the channel, the ledger, instance choice."""

    def __init__(self, world, index, log, chan_path_id, route, home):
        self.world = world
        self.index = index
        self.log = log
        self.chan_id = chan_path_id
        self.route = route
        self.home = home
        self.src = http.source_ip(index)
        self.name = f"{type(self).__name__}#{index}"
        self.ledger = check.StreamLedger(self.name, log, world.report,
                                         world.opts.redis_history_size)
        self.turn = 0

    def pick_instance(self):
        """Sequenced: alternate between the instances (one that is down is skipped);
        plain: always home. None if the one wanted is down."""
        w = self.world
        if self.log.mode == check.PLAIN:
            return self.home if self.home.up else None
        self.turn += 1
        first = w.instances[(self.home_index() + self.turn) % len(w.instances)]
        if first.up:
            return first
        return next((i for i in w.instances if i.up), None)

    def home_index(self):
        return self.world.instances.index(self.home)

    def violation(self, kind, **detail):
        self.world.report.violation(kind, client=self.name, channel=self.log.name,
                                    mode=self.log.mode, t=round(self.world.now(), 3), **detail)


class SseClient(Client):

    def __init__(self, *args):
        super().__init__(*args)
        self.seen = {}

    async def run(self):
        w, o, rng = self.world, self.world.opts, self.world.rng
        while not w.load_over.is_set():
            inst = self.pick_instance()
            if inst is None:
                await w.sleep_unless_over(0.3)
                continue
            read_for = rng.uniform(o.read_min, o.read_max)
            until = min(w.now() + read_for, w.load_end)
            outcome = await self.session(inst, until)
            if outcome == 204:
                self.violation(check.NO_204, got="204 No Content during the load",
                               expected="a stream: the channel has not ended")
            pause = rng.uniform(o.long_pause_min, o.long_pause_max) \
                if rng.random() < o.long_pause_share else rng.uniform(0, o.pause_max)
            if outcome in ("refused", "reset") or isinstance(outcome, int):
                pause = max(pause, 0.3)
            await w.sleep_unless_over(pause)
        await self.final()

    async def final(self):
        """After the terminal event: read until it, then resuming at it must give 204."""
        w = self.world
        await w.final_go.wait()
        deadline = w.now() + w.opts.final_timeout
        while self.ledger.done_counter is None and w.now() < deadline:
            inst = self.pick_instance()
            if inst is None:
                await asyncio.sleep(0.2)
                continue
            outcome = await self.session(inst, deadline, stop_at_done=True)
            if outcome == 204 and self.ledger.done_counter is None:
                self.violation(check.MISSING_FINAL, got=f"204 before the terminal event "
                                                        f"arrived: {self.seen}",
                               expected=f"counter {self.log.final}",
                               last_id=self.ledger.last_id,
                               last_counter=self.ledger.last_counter)
                return
            if self.ledger.done_counter is None:
                await asyncio.sleep(0.2)
        if self.ledger.done_counter != self.log.final:
            self.violation(check.MISSING_FINAL, got=f"last counter {self.ledger.last_counter}, "
                                                    f"last id {self.ledger.last_id}",
                           expected=f"terminal event, counter {self.log.final}")
            return
        inst = self.pick_instance()
        if inst is None:
            return
        status = await self.session(inst, w.now() + 10)
        if status != 204:
            self.violation(check.NO_204, got=f"{status}: {self.seen}",
                           resume_point=self.ledger.done_id,
                           expected="204 No Content: the client has the terminal event")

    def request_path(self):
        """The URL and headers of a resume: ?position=N or Last-Event-ID, at random."""
        n = self.ledger.last_id
        path = f"{self.route}{self.chan_id}"
        if n is None:
            return path, None
        if self.world.rng.random() < 0.5:
            return f"{path}?position={n}", None
        return path, {"Last-Event-ID": str(n)}

    async def session(self, inst, until, stop_at_done=False):
        """One stream: the outcome is an HTTP status other than 200, or "timeup", "eof"
        (server closed), "refused", "reset", "stall"."""
        w = self.world
        path, headers = self.request_path()
        try:
            reader, writer = await http.connect(inst.port, self.src, timeout=5.0)
        except (OSError, TimeoutError):
            w.report.count("connect refused or timed out")
            return "refused"
        self.ledger.start_session(inst.key())
        if headers:
            path_shown = f"{path} (Last-Event-ID: {headers['Last-Event-ID']})"
        else:
            path_shown = path
        # What the last session got, for the violation reports of the final reads.
        self.seen = {"instance": inst.name, "request": path_shown, "status": None,
                     "events": [], "gaps": []}
        w.report.count("sse sessions")
        try:
            writer.write(http.request("GET", path, inst.port, headers))
            async with asyncio.timeout(15.0):
                status, hdrs = await http.read_head(reader)
            self.seen["status"] = status
            if status != 200:
                w.report.count(f"sse status {status}")
                return status
            if "text/event-stream" not in hdrs.get("content-type", ""):
                self.violation(check.HARNESS, detail=f"200 without text/event-stream: {hdrs}")
                return "reset"
            return await self.read_stream(reader, inst, until, stop_at_done)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError,
                asyncio.LimitOverrunError):
            w.report.count("sse sessions cut by an error")
            return "reset"
        finally:
            writer.close()

    async def read_stream(self, reader, inst, until, stop_at_done):
        w = self.world
        parser = BlockParser()
        stall = w.opts.stall_timeout
        while True:
            left = until - w.now()
            if left <= 0:
                return "timeup"
            try:
                async with asyncio.timeout(min(left, stall)):
                    data = await reader.read(65536)
            except TimeoutError:
                if w.now() >= until:
                    return "timeup"
                w.report.warning("stream silent longer than the stall timeout", example={
                    "client": self.name, "instance": inst.name, "t": round(w.now(), 1)})
                return "stall"
            if not data:
                if self.ledger.done_counter is None:
                    w.report.count(f"sse closed by sluice {inst.name}")
                return "eof"
            now = w.now()
            for eid, event, payload, _ in parser.feed(data):
                self.on_block(eid, event, payload, now)
            if stop_at_done and self.ledger.done_counter is not None:
                return "done"

    def on_block(self, eid, event, payload, now):
        if payload is None:
            return  # comments (heartbeats), retry
        seen = self.seen["gaps" if event == "gap" else "events"]
        if len(seen) < 5:
            seen.append(payload[:80] if event == "gap" else eid)
        if event == "gap":
            try:
                g = json.loads(payload)
                self.ledger.on_gap(int(g["from"]), int(g["to"]), bool(g.get("reset")), now)
            except (ValueError, KeyError, TypeError):
                self.violation(check.UNKNOWN_EVENT, got=payload[:200],
                               expected='gap data {"from": F, "to": T}')
            return
        try:
            pos = int(eid)
        except (TypeError, ValueError):
            self.violation(check.UNKNOWN_EVENT, got=f"id {eid!r}: {payload[:120]}",
                           expected="an integer id")
            return
        self.ledger.on_event(pos, event, payload, now)


class PollClient(Client):
    """Long-polls ?position=N&wait=2 on a kept-alive connection; sequenced channels switch
    instance every few polls."""

    def __init__(self, *args):
        super().__init__(*args)
        self.ledger.last_id = 0  # a poller always names a position: it starts from 0
        self.conn = None
        self.conn_inst = None

    async def run(self):
        w, rng = self.world, self.world.rng
        inst = None
        while not w.load_over.is_set():
            if inst is None or rng.random() < 0.25 or not inst.up:
                inst = self.pick_instance()
            if inst is None:
                await w.sleep_unless_over(0.3)
                continue
            body = await self.poll(inst, wait=2)
            if body is None:
                inst = None
                await w.sleep_unless_over(0.3)
            elif not body.get("events"):
                await w.sleep_unless_over(0.2)
            elif rng.random() < w.opts.long_pause_share:
                await w.sleep_unless_over(rng.uniform(w.opts.long_pause_min,
                                                      w.opts.long_pause_max))
        await self.final()

    async def final(self):
        w = self.world
        await w.final_go.wait()
        deadline = w.now() + w.opts.final_timeout
        last = None
        while self.ledger.done_counter is None and w.now() < deadline:
            inst = self.pick_instance()
            asked = self.ledger.last_id
            body = await self.poll(inst, wait=2) if inst else None
            if body is None:
                await asyncio.sleep(0.2)
                continue
            last = {"instance": inst.name, "position": asked, "answer": str(body)[:300]}
            if body.get("done") and self.ledger.done_counter is None:
                break
        if self.ledger.done_counter != self.log.final:
            self.violation(check.MISSING_FINAL, got=f"last counter {self.ledger.last_counter}, "
                                                    f"last id {self.ledger.last_id}; last poll "
                                                    f"{last}",
                           expected=f"terminal event, counter {self.log.final}")
        else:
            inst = self.pick_instance()
            body = await self.poll(inst, wait=0) if inst else None
            if body is not None and not (body.get("done") and not body.get("events")):
                self.violation(check.NO_204, got=body, resume_point=self.ledger.done_id,
                               expected='{"events": [], "done": true}')
        self.close()

    def close(self):
        if self.conn:
            self.conn[1].close()
        self.conn = None

    async def poll(self, inst, wait):
        """One poll; the parsed answer, or None if it failed."""
        w = self.world
        if self.conn is not None and self.conn_inst is not inst:
            self.close()
        path = f"{self.route}{self.chan_id}?position={self.ledger.last_id}&wait={wait}"
        try:
            if self.conn is None:
                self.conn = await http.connect(inst.port, self.src, timeout=5.0)
                self.conn_inst = inst
            reader, writer = self.conn
            writer.write(http.request("GET", path, inst.port, keep_alive=True))
            async with asyncio.timeout(wait + 15.0):
                status, hdrs = await http.read_head(reader)
                raw = await http.read_body(reader, status, hdrs)
            if hdrs.get("connection", "").lower() == "close":
                self.close()
        except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError,
                asyncio.LimitOverrunError, ValueError):
            self.close()
            w.report.count("polls failed (connection)")
            return None
        w.report.count("polls")
        if status != 200:
            w.report.count(f"poll status {status}")
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            self.violation(check.HARNESS, detail=f"poll answer is not JSON: {raw[:200]!r}")
            return None
        self.ledger.start_session(inst.key())
        now = w.now()
        gap = body.get("gap")
        if gap:
            self.ledger.on_gap(int(gap["from"]), int(gap["to"]), bool(gap.get("reset")), now)
        for ev in body.get("events", []):
            self.ledger.on_event(int(ev["id"]), ev.get("event"), ev.get("data"), now)
        return body
