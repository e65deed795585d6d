"""The state every task of a soak run shares: the clock (seconds since the start), the
processes, the phase events (load over, final reads may start), the outage windows the
chaos opened, and the report."""

import asyncio


class World:
    def __init__(self, opts, report, rng):
        self.opts = opts
        self.report = report
        self.rng = rng
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.load_start = 0.0   # set when the publishers start
        self.load_end = opts.duration
        self.load_over = asyncio.Event()
        self.final_go = asyncio.Event()
        self.redis = None
        self.instances = []
        self.outages = []    # (t0, t1, what): a plain publish then may miss an instance
        self.timeline = []   # what happened when: {"t", "what", ...}
        self.exits = []      # every sluice exit: instance, code, problems

    def now(self):
        return self.loop.time() - self.t0

    def instances_up(self):
        return sum(1 for i in self.instances if i.up)

    def note(self, what, **detail):
        entry = {"t": round(self.now(), 2), "what": what, **detail}
        self.timeline.append(entry)
        if not self.opts.quiet:
            extra = " ".join(f"{k}={v}" for k, v in detail.items())
            print(f"[soak {entry['t']:7.2f}s] {what} {extra}".rstrip(), flush=True)

    async def sleep_unless_over(self, seconds):
        """Sleeps, but returns early when the load ends."""
        if seconds <= 0 or self.load_over.is_set():
            return
        try:
            async with asyncio.timeout(seconds):
                await self.load_over.wait()
        except TimeoutError:
            pass
