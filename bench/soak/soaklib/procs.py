"""The soak's child processes, each tracked by its PID only: one redis-server (append-only
file on, so a restart keeps sequenced history) and the sluice instances. Also reads a
process's memory from /proc/<pid>/status."""

import asyncio
import os
import signal
import subprocess

from . import http, sluice_config
from .resp import Resp, RespError

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")


def memory_kib(pid):
    """{"VmRSS": kB, "VmHWM": kB} of a live process, or None."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def is_sanitized(binary):
    """True if the binary was built with AddressSanitizer (it names its runtime)."""
    try:
        with open(binary, "rb") as f:
            while chunk := f.read(1 << 22):
                if b"__asan_init" in chunk or b"AddressSanitizer" in chunk:
                    return True
    except OSError:
        pass
    return False


async def wait_exit(proc, timeout):
    """The exit code, or None if the process is still running after timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while proc.poll() is None:
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(0.05)
    return proc.returncode


class RedisProc:
    """redis-server on 127.0.0.1:port with appendonly yes / appendfsync always and no RDB
    snapshots: every write is in the append-only file before it is acknowledged, and a
    SIGTERM shutdown leaves nothing out, so a restart comes back with the same keys and
    the sluice function library."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = http.free_port()
        self.proc = None
        self.starts = 0

    async def start(self, timeout=20.0):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", http.HOST,
                 "--dir", self.dir, "--appendonly", "yes", "--appendfsync", "always",
                 "--save", "", "--maxclients", "10000", "--loglevel", "notice"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and self.proc.poll() is None:
            try:
                r = await Resp.connect(http.HOST, self.port, timeout=1.0)
                try:
                    if await r.cmd("PING", timeout=2.0) == "PONG":
                        return
                finally:
                    r.close()
            except (OSError, ConnectionError, RespError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer PING on port {self.port} "
                           f"(exit {self.proc.poll()}); see {self.dir}/redis.log")

    async def stop(self, timeout=20.0):
        """SIGTERM (Redis shuts down cleanly, flushing the append-only file); the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        code = await wait_exit(self.proc, timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError("redis-server did not exit on SIGTERM; killed")
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class SluiceProc:
    """One sluice instance: a fixed port and config file for its whole life (restarts
    reuse both), one stderr file per process start."""

    def __init__(self, name, binary, workdir, redis_port, opts):
        self.name = name
        self.binary = binary
        self.sanitized = is_sanitized(binary)
        self.dir = os.path.join(workdir, f"sluice-{name}")
        os.makedirs(self.dir, exist_ok=True)
        self.port = http.free_port()
        self.redis_port = redis_port
        self.opts = opts
        self.config_path = os.path.join(self.dir, "sluice.yaml")
        self.access_log = os.path.join(self.dir, "access.log")
        self.generation = 0      # config reloads
        self.process_gen = 0     # process starts
        self.proc = None
        self.up = False          # started and ready, not being stopped
        self.write_config()

    def write_config(self):
        text = sluice_config.render(self.port, self.redis_port, self.access_log, self.opts,
                                    self.generation)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def stderr_path(self, gen=None):
        return os.path.join(self.dir, f"stderr-{gen or self.process_gen}.log")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def key(self):
        """(name, process generation): a restart is a different instance for plain
        channels, whose positions live in the process."""
        return (self.name, self.process_gen)

    async def start(self, timeout=60.0):
        self.process_gen += 1
        env = dict(os.environ)
        asan = env.get("ASAN_OPTIONS", "")
        if "detect_leaks" not in asan:
            env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=1"
        with open(self.stderr_path(), "wb") as err, \
                open(os.path.join(self.dir, "stdout.log"), "ab") as out:
            self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL, cwd=self.dir,
                                         env=env)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc.poll() is not None:
                break
            if await http.status_of(self.port, "/_sluice/ready", 2.0) == 200:
                self.up = True
                return
            await asyncio.sleep(0.1)
        code = self.proc.poll()
        if code is None:
            self.proc.kill()
            self.proc.wait(5)
        raise RuntimeError(f"sluice {self.name} did not become ready (exit {code}); "
                           f"see {self.stderr_path()}")

    async def wait_ready(self, timeout=30.0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await http.status_of(self.port, "/_sluice/ready", 2.0) == 200:
                return True
            await asyncio.sleep(0.1)
        return False

    async def reload(self, timeout=15.0):
        """Writes the next config generation, sends SIGHUP and waits until the new marker
        route answers (and the old one does not). True if the reload took effect."""
        self.generation += 1
        self.write_config()
        self.proc.send_signal(signal.SIGHUP)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await http.status_of(self.port, sluice_config.marker_path(self.generation)) == 200:
                old = await http.status_of(self.port,
                                           sluice_config.marker_path(self.generation - 1))
                return old == 404
            await asyncio.sleep(0.1)
        return False

    async def stop(self, timeout=30.0):
        """SIGTERM and wait: (exit code, problems) where problems lists a non-zero exit
        or sanitizer output in this process's stderr."""
        self.up = False
        if self.proc is None:
            return None, ["never started"]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await wait_exit(self.proc, timeout)
        problems = []
        if code is None:
            self.proc.kill()
            self.proc.wait(5)
            code = self.proc.returncode
            problems.append(f"did not exit within {timeout}s of SIGTERM; killed")
        elif code != 0:
            problems.append(f"exit status {code}")
        text = self.stderr_text()
        problems += [f"stderr contains {m!r}" for m in SANITIZER_MARKERS if m in text]
        return code, problems

    def stderr_text(self, gen=None):
        try:
            with open(self.stderr_path(gen), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def memory(self):
        return memory_kib(self.proc.pid) if self.proc and self.proc.poll() is None else None
