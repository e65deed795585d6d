#!/usr/bin/env python3
"""Rolling restart: several sluice instances behind haproxy on one redis-server, sequenced
publishing at a steady rate, many EventSource-like clients (reconnect after the server's
`retry:`, resume with Last-Event-ID). The instances are restarted one by one (SIGTERM,
wait for the exit, start again) while the events flow. Checked: every client ends with
every event of its channel exactly once and in order, and every instance exits 0.
Measured: the reconnects the remaining instances take, per 100 ms and per second, with
each `drain_pace` given (--paces 0s,5s compares an unpaced drain with a paced one).

Exit status: 0 when every run was exact and clean, 1 otherwise, 2 for bad arguments.
Everything runs on loopback, on free ports, and stops by itself; processes are tracked by
PID. See README.md next to this file."""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HOST = "127.0.0.1"

SLUICE_CONFIG = """\
listen: {host}:{port}
workers: 1
drain_timeout: {drain_timeout}
{pace_line}access_log: off
log_level: info
broker:
  type: redis
  url: redis://{host}:{redis_port}/0
  key_prefix: "roll:"
  history: {{size: 100000, ttl: 1h}}
routes:
  - path: /s/{{id}}
    sse:
      channel: "roll:{{id}}"
      retry: {retry}
"""

# The deploy/proxies/haproxy.cfg settings, with health checks fast enough for a short run.
HAPROXY_CONFIG = """\
global
    maxconn 9000  # two descriptors each: within a 20000 open-file limit
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend public
    bind {host}:{port}
    default_backend sluice
backend sluice
    balance roundrobin
    option httpchk
    http-check send meth GET uri /_sluice/ready
    http-check expect status 200
{servers}
"""


def pace_line(pace):
    """The config line for a --paces value; "none" leaves the key out (a binary from
    before drain_pace: every stream closed at once, with no retry hint)."""
    return "" if pace == "none" else f"drain_pace: {pace}\n"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def duration_ms(text):
    """'5s', '250ms', '0' -> milliseconds."""
    text = text.strip()
    if text in ("0", ""):
        return 0
    if text.endswith("ms"):
        return int(text[:-2])
    if text.endswith("s"):
        return int(float(text[:-1]) * 1000)
    raise ValueError(f"bad duration {text!r}")


async def http_status(port, path, timeout=2.0):
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            line = await reader.readline()
            writer.close()
            return int(line.split()[1])
    except (OSError, TimeoutError, IndexError, ValueError):
        return None


async def wait_for(predicate, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while not await predicate():
        if proc and proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited {proc.proc.returncode} while waiting for "
                               f"{what}:\n{proc.stderr_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


class Proc:
    """A child process tracked by PID, its stderr kept in a file."""

    def __init__(self, name, argv, workdir):
        self.name, self.argv, self.workdir = name, argv, workdir
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        err = open(os.path.join(self.workdir, f"{self.name}.{self.starts}.stderr"), "w")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=err)
        err.close()

    async def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signals the process and waits for its exit: the exit code, or None if killed."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                return None
            await asyncio.sleep(0.02)
        return self.proc.returncode

    def stderr_tail(self, n=20):
        path = os.path.join(self.workdir, f"{self.name}.{self.starts}.stderr")
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])


class Publisher:
    """FCALL sluice_publish on every channel, `rate` times a second, until stopped; keeps
    the last position Redis gave each channel."""

    def __init__(self, redis_port, channels, rate):
        self.redis_port, self.channels, self.rate = redis_port, channels, rate
        self.head = {c: 0 for c in range(channels)}
        self.stopped = asyncio.Event()

    async def run(self):
        reader, writer = await asyncio.open_connection(HOST, self.redis_port)
        n = 0
        while not self.stopped.is_set():
            n += 1
            out = bytearray()
            for c in range(self.channels):
                payload = json.dumps({"n": n}).encode()
                args = [b"FCALL", b"sluice_publish", b"1", f"roll:{c}".encode(), payload]
                out += b"*%d\r\n" % len(args)
                for a in args:
                    out += b"$%d\r\n%s\r\n" % (len(a), a)
            writer.write(bytes(out))
            for c in range(self.channels):
                line = await reader.readline()
                if not line.startswith(b":"):
                    raise RuntimeError(f"sluice_publish answered {line!r}")
                self.head[c] = int(line[1:])
            try:
                await asyncio.wait_for(self.stopped.wait(), 1.0 / self.rate)
            except TimeoutError:
                pass
        writer.close()


class Client:
    """An EventSource-like client: `?position=0` first, then Last-Event-ID; reconnects
    after the last `retry:` the server sent. Records every violation of exactly-once,
    in-order delivery, and the time of every (re)connection the gateway accepted."""

    def __init__(self, run, index):
        self.run, self.channel = run, index % run.opts.channels
        self.last = 0
        self.retry_s = 1.0
        self.connects = []   # monotonic times of accepted (200) connections
        self.refused = 0
        self.violations = []

    def path(self):
        return f"/s/{self.channel}" + ("" if self.last else "?position=0")

    async def loop(self):
        while not self.run.clients_stop.is_set():
            try:
                await self.session()
            except (OSError, asyncio.IncompleteReadError, ValueError):
                pass
            await asyncio.sleep(self.retry_s)

    async def session(self):
        reader, writer = await asyncio.open_connection(HOST, self.run.proxy_port)
        try:
            head = f"GET {self.path()} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
            if self.last:
                head += f"Last-Event-ID: {self.last}\r\n"
            writer.write((head + "\r\n").encode())
            status = (await reader.readline()).split()
            if len(status) < 2 or status[1] != b"200":
                self.refused += 1
                return
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                    chunked = True
            self.connects.append(time.monotonic())
            await self.read_events(reader, chunked)
        finally:
            writer.close()

    async def body(self, reader, chunked):
        """The body's bytes as they come (de-chunked when haproxy chunks it)."""
        while not self.run.clients_stop.is_set():
            if not chunked:
                data = await reader.read(65536)
                if not data:
                    return
                yield data
                continue
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                return
            yield await reader.readexactly(size)
            await reader.readexactly(2)

    async def read_events(self, reader, chunked):
        eid, event, buf = None, None, b""
        async for data in self.body(reader, chunked):
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.startswith(b"id: "):
                    eid = int(line[4:])
                elif line.startswith(b"event: "):
                    event = line[7:].decode()
                elif line.startswith(b"retry: "):
                    self.retry_s = int(line[7:]) / 1000
                elif line == b"":
                    if eid is not None:
                        self.on_event(eid, event)
                    eid, event = None, None

    def on_event(self, eid, event):
        if event == "gap":
            self.violations.append(("gap", self.last, eid))
        elif eid != self.last + 1:
            self.violations.append(("duplicate" if eid <= self.last else "hole", self.last, eid))
        self.last = max(self.last, eid)


def peak_rate(times, window):
    """The most connections accepted within any `window` seconds, as a rate per second."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window


class RollingRun:
    def __init__(self, opts, pace, workdir):
        self.opts, self.pace, self.workdir = opts, pace, workdir
        self.clients_stop = asyncio.Event()
        self.instances, self.ports = [], []
        self.proxy_port = free_port()
        self.exit_codes = []
        self.restarts = []   # (SIGTERM time, exit time) per instance

    def sluice_config(self, i, port, redis_port):
        path = os.path.join(self.workdir, f"sluice{i}.yaml")
        with open(path, "w") as f:
            f.write(SLUICE_CONFIG.format(host=HOST, port=port, redis_port=redis_port,
                                         pace_line=pace_line(self.pace), retry=self.opts.retry,
                                         drain_timeout=self.opts.drain_timeout))
        return path

    async def start_instance(self, inst, port):
        inst.start()
        await wait_for(lambda: self.ready(port), 30, f"{inst.name} ready", inst)

    async def ready(self, port):
        return await http_status(port, "/_sluice/ready") == 200

    async def main(self):
        o = self.opts
        redis_port = free_port()
        redis = Proc("redis", [o.redis_server, "--port", str(redis_port), "--bind", HOST,
                               "--save", "", "--appendonly", "no"], self.workdir)
        redis.start()
        haproxy = None
        try:
            for i in range(o.instances):
                port = free_port()
                self.ports.append(port)
                self.instances.append(Proc(f"sluice{i}", [o.sluice, "-c", self.sluice_config(
                    i, port, redis_port)], self.workdir))
            await asyncio.sleep(0.2)
            for inst, port in zip(self.instances, self.ports):
                await self.start_instance(inst, port)
            servers = "\n".join(f"    server s{i} {HOST}:{p} check inter 100ms fall 1 rise 1"
                                for i, p in enumerate(self.ports))
            cfg = os.path.join(self.workdir, "haproxy.cfg")
            with open(cfg, "w") as f:
                f.write(HAPROXY_CONFIG.format(host=HOST, port=self.proxy_port, servers=servers))
            haproxy = Proc("haproxy", [o.haproxy, "-db", "-f", cfg], self.workdir)
            haproxy.start()
            await wait_for(self.proxied_ready, 30, "haproxy", haproxy)
            return await self.load_and_restart(redis_port)
        finally:
            self.clients_stop.set()
            for inst in self.instances:
                await inst.stop(signal.SIGKILL, 5)
            if haproxy:
                await haproxy.stop(signal.SIGTERM, 5)
            await redis.stop(signal.SIGTERM, 10)

    async def proxied_ready(self):
        return await http_status(self.proxy_port, "/_sluice/ready") == 200

    async def load_and_restart(self, redis_port):
        o = self.opts
        clients = [Client(self, i) for i in range(o.clients)]
        tasks = []
        for start in range(0, len(clients), 200):  # open them in batches, like page loads
            tasks += [asyncio.create_task(c.loop()) for c in clients[start:start + 200]]
            await asyncio.sleep(0.05)
        await wait_for(self.all_connected(clients), 60, "every client connected")
        publisher = Publisher(redis_port, o.channels, o.rate)
        pub_task = asyncio.create_task(publisher.run())
        await asyncio.sleep(o.settle)
        for inst, port in zip(self.instances, self.ports):
            t0 = time.monotonic()
            code = await inst.stop(signal.SIGTERM, duration_ms(o.drain_timeout) / 1000 + 10)
            self.restarts.append((t0, time.monotonic()))
            self.exit_codes.append((inst.name, code))
            if code != 0:
                print(f"{inst.name} exited {code}:\n{inst.stderr_tail()}", file=sys.stderr)
            await self.start_instance(inst, port)
            await asyncio.sleep(o.settle)
        publisher.stopped.set()
        await pub_task
        caught_up = await self.wait_caught_up(clients, publisher.head)
        self.clients_stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.result(clients, publisher.head, caught_up)

    def all_connected(self, clients):
        async def check():
            return all(c.connects for c in clients)
        return check

    async def wait_caught_up(self, clients, head):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(c.last >= head[c.channel] for c in clients):
                return True
            await asyncio.sleep(0.1)
        return False

    def result(self, clients, head, caught_up):
        reconnects = [t for c in clients for t in c.connects[1:]]
        violations = [(i, v) for i, c in enumerate(clients) for v in c.violations]
        behind = [i for i, c in enumerate(clients) if c.last < head[c.channel]]
        # Each restart's wave: the reconnects from its SIGTERM to the next one's.
        waves, histograms = [], []
        starts = [t0 for t0, _ in self.restarts] + [float("inf")]
        for t0, t1 in zip(starts, starts[1:]):
            wave = [t for t in reconnects if t0 <= t < t1]
            waves.append(round(max(wave) - min(wave), 2) if wave else 0)
            bins = [0] * 24  # reconnects per half second after the SIGTERM (12 s)
            for t in wave:
                bins[min(int((t - t0) / 0.5), len(bins) - 1)] += 1
            histograms.append(bins)
        return {
            "drain_pace": self.pace,
            "clients": len(clients),
            "events_per_channel": max(head.values()),
            "reconnects": len(reconnects),
            "refused_connects": sum(c.refused for c in clients),
            "peak_reconnects_per_s_100ms": round(peak_rate(reconnects, 0.1)),
            "peak_reconnects_per_s_1s": round(peak_rate(reconnects, 1.0)),
            "reconnect_wave_s": waves,
            "reconnects_per_half_second": histograms,
            "exit_codes": self.exit_codes,
            "violations": len(violations),
            "violation_examples": violations[:10],
            "clients_behind": len(behind),
            "caught_up": caught_up,
            "exact": caught_up and not violations and not behind,
            "clean_exits": all(code == 0 for _, code in self.exit_codes),
        }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--quick", action="store_true", help="the CI version: 300 clients, 3 instances")
    a("--clients", type=int, default=3000)
    a("--channels", type=int, default=30)
    a("--rate", type=float, default=2.0, help="events/s per channel (2)")
    a("--instances", type=int, default=3)
    a("--paces", default="0s,5s", help="drain_pace values, one run each (0s,5s); 'none' "
                                          "leaves the key out, for a binary without it")
    a("--drain-timeout", default="10s")
    a("--retry", default="1s", help="the route's retry (1s)")
    a("--settle", type=float, default=3.0, help="seconds between restarts (3)")
    a("--sluice", default=os.environ.get("SLUICE_BIN", os.path.join(REPO, "build", "sluice")))
    a("--json", help="write the results here")
    opts = p.parse_args(argv)
    if opts.quick:
        opts.clients, opts.channels, opts.rate = 300, 6, 5.0
        opts.drain_timeout, opts.settle = "4s", 1.5
        if opts.paces == "0s,5s":
            opts.paces = "1500ms"
    opts.redis_server = shutil.which("redis-server")
    opts.haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not opts.redis_server or not os.path.exists(opts.haproxy) or not os.path.exists(opts.sluice):
        p.error("needs redis-server, haproxy and the sluice binary (--sluice)")
    return opts


def main(argv):
    opts = parse_args(argv)
    results = []
    for pace in opts.paces.split(","):
        with tempfile.TemporaryDirectory(prefix="sluice-rolling-") as workdir:
            r = asyncio.run(RollingRun(opts, pace, workdir).main())
        results.append(r)
        print(json.dumps(r), flush=True)
    print(f"\n{'drain_pace':>10} {'clients':>7} {'reconnects':>10} {'peak/s (100ms)':>14} "
          f"{'peak/s (1s)':>11} {'wave s':>16} {'exact':>5}")
    for r in results:
        print(f"{r['drain_pace']:>10} {r['clients']:>7} {r['reconnects']:>10} "
              f"{r['peak_reconnects_per_s_100ms']:>14} {r['peak_reconnects_per_s_1s']:>11} "
              f"{','.join(map(str, r['reconnect_wave_s'])):>16} {str(r['exact']):>5}")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all(r["exact"] and r["clean_exits"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
