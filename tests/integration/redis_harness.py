"""Redis helpers for the sluice integration tests: a real redis-server on a free loopback
port (RedisServer, tracked by PID only), a tiny binary-safe RESP client (Resp), sluice
configs with `broker: {type: redis}`, and RedisGatewayTestCase (one Redis and one sluice
per test class). Skips when redis-server is not installed. Every wait is bounded."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (DEFAULT_ROUTES, HOST, Gateway, GatewayTestCase, SseClient, free_port,
                     http_request, make_config, wait_until)

KEY_PREFIX = "sluice:"
PENDING = {"type": "pending", "message": "Use polling"}


class RespError(Exception):
    """An error reply (-ERR ...) from Redis."""


def _encode(arg):
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    return str(arg).encode()


class Resp:
    """One RESP2 connection. Arguments are bytes, str or int; replies come back as str
    (+), int (:), bytes or None ($), list or None (*); a top-level -error raises RespError
    (inside an array it is returned as a RespError value)."""

    def __init__(self, port, host=HOST, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = bytearray()

    def send(self, *commands):
        """Writes several commands at once (a pipeline); read their replies with reply()."""
        out = bytearray()
        for args in commands:
            out += b"*%d\r\n" % len(args)
            for arg in args:
                data = _encode(arg)
                out += b"$%d\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(out)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _exactly(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return data

    def _value(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exactly(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._value() for _ in range(n)]
        raise AssertionError(f"unexpected RESP reply {line!r}")

    def reply(self):
        value = self._value()
        if isinstance(value, RespError):
            raise value
        return value

    def cmd(self, *args):
        self.send(args)
        return self.reply()

    def pipeline(self, *commands):
        """Sends every command in one write; returns their replies (errors as values)."""
        self.send(*commands)
        return [self._value() for _ in commands]

    def publish(self, channel, payload):
        """Plain PUBLISH; returns the number of receivers (pattern subscribers count)."""
        return self.cmd("PUBLISH", channel, payload)

    def fcall_publish(self, channel, payload, event=None):
        """FCALL sluice_publish 1 channel payload [event]; returns the position."""
        return self.cmd(*fcall_args(channel, payload, event))

    def close(self):
        self.sock.close()


def fcall_args(channel, payload, event=None):
    """The FCALL sluice_publish command for one event, as an argument list."""
    return ["FCALL", "sluice_publish", 1, channel, payload] + ([event] if event else [])


def log_key(channel, prefix=KEY_PREFIX):
    return f"{prefix}{{{channel}}}:log"


def seq_key(channel, prefix=KEY_PREFIX):
    return f"{prefix}{{{channel}}}:seq"


class RedisServer:
    """A redis-server child on 127.0.0.1 (no persistence unless asked), in a temp dir.
    start() picks a free port; stop()/kill() end the child by its PID; restart() starts
    it again on the same port. cmd() and the publish helpers use one cached connection."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            # A real Redis is part of the test suite (tests/run.sh installs it): a missing
            # one is a failure, never a silent skip.
            raise AssertionError("redis-server is not installed (./deploy/install-deps.sh --test)")
        self.dir = tempfile.mkdtemp(prefix="sluice-redis-")
        self.log_path = os.path.join(self.dir, "redis.log")
        self.port = None
        self.proc = None
        self._client = None

    def start(self, timeout=10.0):
        for _ in range(1 if self.port else 3):  # a fresh port can be taken: retry then
            port = self.port or free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary, "--port", str(port), "--bind", HOST, "--save", "",
                     "--appendonly", "no", "--dir", self.dir],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._wait_ping(port, timeout):
                self.port = port
                return self
            self.kill()
        self.dump_log()
        raise AssertionError(f"redis-server did not answer PING on port {port}")

    def _wait_ping(self, port, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                client = Resp(port, timeout=1.0)
                try:
                    if client.cmd("PING") == "PONG":
                        return True
                finally:
                    client.close()
            except (OSError, ConnectionError, RespError):
                pass
            time.sleep(0.02)
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _drop_client(self):
        if self._client:
            self._client.close()
            self._client = None

    def stop(self, save=False, timeout=10.0):
        """SIGTERM to the child and wait. save=True writes the data set first, so a
        restart() comes back with the same keys and functions; otherwise it comes back
        empty (no keys, no functions)."""
        if save:
            self.cmd("SAVE")
        self._drop_client()
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("redis-server did not exit on SIGTERM; killed")
        if not save:
            try:
                os.remove(os.path.join(self.dir, "dump.rdb"))
            except FileNotFoundError:
                pass

    def kill(self):
        self._drop_client()
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def restart(self, timeout=10.0):
        self.stop()
        return self.start(timeout)

    def client(self):
        """A new connection (the caller closes it)."""
        return Resp(self.port)

    def conn(self):
        """The cached connection (reopened after stop/kill)."""
        if self._client is None:
            self._client = Resp(self.port)
        return self._client

    def cmd(self, *args):
        return self.conn().cmd(*args)

    def pipeline(self, *commands):
        """Several commands in one write on the cached connection; replies as a list."""
        return self.conn().pipeline(*commands)

    def publish(self, channel, payload):
        return self.conn().publish(channel, payload)

    def fcall_publish(self, channel, payload, event=None):
        return self.conn().fcall_publish(channel, payload, event)

    def fcall_many(self, channel, payloads, event=None):
        return [self.fcall_publish(channel, p, event) for p in payloads]

    def function_loaded(self, library="sluice"):
        return bool(self.cmd("FUNCTION", "LIST", "LIBRARYNAME", library))

    def wait_function(self, timeout=10.0):
        """Waits until sluice has (re)loaded its function library."""
        wait_until(self.function_loaded, timeout, what="sluice to load its Redis function")

    def entries(self, channel, prefix=KEY_PREFIX):
        """The channel's Redis history: [(position, {field: value})] from XRANGE."""
        out = []
        for entry_id, fields in self.cmd("XRANGE", log_key(channel, prefix), "-", "+"):
            ms, _, seq = entry_id.decode().partition("-")
            if seq != "0":
                raise AssertionError(f"stream entry id {entry_id!r} is not <position>-0")
            out.append((int(ms), dict(zip(fields[::2], fields[1::2]))))
        return out

    def dump_log(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return
        print(f"\n----- redis-server log, last {n} lines -----", file=sys.stderr)
        print("\n".join(lines[-n:]), file=sys.stderr)

    def cleanup(self):
        self.kill()
        if not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.dump_log()
        finally:  # even if printing fails (a closed stderr pipe), the child must go
            self.cleanup()
        return False


def redis_config(redis_port, routes=DEFAULT_ROUTES, limits=None, defaults="", extra="",
                 workers=1, history="{size: 1000, ttl: 1h}",
                 reconnect="{min: 100ms, max: 500ms}", prefix=KEY_PREFIX):
    """A sluice config (sluice on @PORT@) using the Redis at 127.0.0.1:redis_port, db 0,
    with a short reconnect backoff so outage tests recover quickly."""
    broker = (f"type: redis\nurl: redis://{HOST}:{redis_port}/0\n"
              f'key_prefix: "{prefix}"\nhistory: {history}\nreconnect: {reconnect}\n')
    return make_config(routes=routes, limits=limits, defaults=defaults, extra=extra,
                       workers=workers, broker=broker)


def ready_status(port):
    return http_request(port, "GET", "/_sluice/ready", timeout=2.0)[0]


def wait_ready(port, ready=True, timeout=10.0):
    """Waits until /_sluice/ready answers 200 (ready=True) or 503 (ready=False)."""
    want = 200 if ready else 503
    wait_until(lambda: ready_status(port) == want, timeout, 0.05,
               f"/_sluice/ready to answer {want}")


def start_gateway(config, redis):
    """Starts a sluice on `config` and waits until it is ready with its function loaded;
    the caller stops it (gw.stop(), gw.cleanup()). See also another_gateway()."""
    gw = Gateway(config).start()
    try:
        wait_ready(gw.port)
        redis.wait_function()
    except BaseException:
        try:
            gw.dump_logs()
        finally:
            gw.cleanup()
        raise
    return gw


@contextlib.contextmanager
def another_gateway(config, redis):
    """`with another_gateway(cfg, redis) as gw:` a second sluice instance, ready; on
    leaving it is stopped (clean exit checked) and its files removed."""
    gw = start_gateway(config, redis)
    try:
        yield gw
    except BaseException:
        gw.dump_logs()
        raise
    else:
        gw.stop()
    finally:
        gw.cleanup()


class RedisGatewayTestCase(GatewayTestCase):
    """One redis-server and one sluice using it per test class; the class attributes
    are the arguments of redis_config(). setUpClass waits for ready and the function."""

    ROUTES = DEFAULT_ROUTES
    LIMITS = None
    DEFAULTS = ""
    WORKERS = 1
    HISTORY = "{size: 1000, ttl: 1h}"

    @classmethod
    def config(cls):
        return redis_config(cls.redis.port, routes=cls.ROUTES, limits=cls.LIMITS,
                            defaults=cls.DEFAULTS, workers=cls.WORKERS, history=cls.HISTORY)

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        try:
            cls.gw = start_gateway(cls.config(), cls.redis)
        except BaseException:
            try:
                cls.redis.dump_log()
            finally:
                cls.redis.cleanup()
            raise
        cls.port = cls.gw.port

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.redis.cleanup()

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            self.redis.dump_log()
        return out

    def sse_at(self, port, path, headers=None, timeout=5.0):
        """An SSE client on another instance's port, closed when the test ends."""
        client = SseClient(port, path, headers, timeout)
        self.addCleanup(client.close)
        return client
