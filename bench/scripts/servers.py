"""The servers that bench/compare.sh measures, started and stopped by PID.

Each server fills in its config template from bench/peers/ into a run directory, starts its
processes (tracked by PID, stopped with SIGTERM then SIGKILL), waits until it accepts, and
knows the sluice-bench arguments that subscribe to it and publish to it. Everything listens
on 127.0.0.1 at fixed, unusual ports (28100-28199) so other test runs are not disturbed.
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time

import procstat

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(BENCH_DIR, "peers")
TOKEN = "bench-token"


def fill(template_path, out_path, values):
    with open(template_path) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    with open(out_path, "w") as f:
        f.write(text)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def running(pid):
    """Exists and is not a zombie (our own children stay zombies until reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:][:1] != b"Z"


def stop_pids(pids, timeout=5.0):
    """SIGTERM each of our PIDs and their descendants, then SIGKILL what is left."""
    members = procstat.tree(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline and any(running(p) for p in members):
        time.sleep(0.05)
    for pid in members:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Proc:
    """One child process, logging to a file, reaped when stopped."""

    def __init__(self, argv, log_path, cwd=None):
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, cwd=cwd)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.alive():
            stop_pids([self.pid])
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


# The TLS rows: subscribers connect to PORT + TLS_PORT_OFFSET over TLS, with HTTP/1.1 or
# HTTP/2 (ALPN); publishers and probes stay on the plain port.
TLS_PORT_OFFSET = 1000
TRANSPORTS = ("plain", "tls", "h2")
H2_STREAMS = 100  # streams per HTTP/2 connection (sluice's and nginx's default limit is >= 100)


def test_certificate(workdir):
    """A throwaway P-256 certificate for 127.0.0.1, made once per work directory."""
    cert, key = os.path.join(workdir, "bench-cert.pem"), os.path.join(workdir, "bench-key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "7", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
    return cert, key


class Server:
    """Base: subclasses set name, ports and start the processes in _start()."""

    name = "server"
    ramp = 10000            # connections per second sluice-bench opens against it
    s1_ramp = 30000         # the same for S1, where the time to connect is measured
    has_history = True      # resumes with Last-Event-ID without loss

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, self.name)
        self.procs = []

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self._start()
        return self

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []

    def pids(self):
        """Root PIDs whose trees count as this server's CPU and memory."""
        return [p.pid for p in self.procs]

    def spawn(self, argv, log_name, cwd=None):
        p = Proc(argv, os.path.join(self.dir, log_name), cwd=cwd)
        self.procs.append(p)
        return p

    def check_alive(self):
        for p in self.procs:
            if not p.alive():
                raise RuntimeError(f"{self.name}: {p.popen.args[0]} exited; see {self.dir}")

    def sub_url(self):
        raise NotImplementedError

    def pub_args(self):
        raise NotImplementedError

    def sub_args(self):
        """Subscriber options beyond --url (HTTP/2's streams per connection)."""
        return ["--h2-streams", str(H2_STREAMS)] if getattr(self, "transport", "plain") == "h2" else []

    def secure_url(self, path):
        return f"https://127.0.0.1:{self.port + TLS_PORT_OFFSET}{path}"


class Sluice(Server):
    """sluice with the memory broker (HTTP publish) or Redis (PUBLISH); `processes` > 1
    runs that many single-worker processes on one port with share_listen_port."""

    def __init__(self, workdir, binary, port, workers=1, redis_port=None, processes=1,
                 name=None, transport="plain", cluster=None, io_uring=False):
        self.name = name or (f"sluice-w{workers}" + ("-redis" if redis_port else "") +
                             ("-cluster" if cluster else "") +
                             ("" if transport == "plain" else f"-{transport}"))
        super().__init__(workdir)
        self.binary, self.port, self.workers = binary, port, workers
        self.redis_port, self.processes, self.transport = redis_port, processes, transport
        self.cluster = cluster  # a RedisCluster: sequenced, published over HTTP
        self.io_uring = io_uring
        self.workdir = workdir
        if transport != "plain":
            self.ramp = 2000  # handshakes: both ends pay for each

    def _start(self):
        broker = (f"{{type: redis, url: \"redis://127.0.0.1:{self.redis_port}/0\"}}"
                  if self.redis_port else "{type: memory}")
        if self.cluster:
            broker = f"{{type: redis-cluster, nodes: {self.cluster.nodes()}}}"
        conf = os.path.join(self.dir, "sluice.yaml")
        tls = ""
        if self.transport != "plain":
            cert, key = test_certificate(self.workdir)
            tls = (f"  - {{address: 127.0.0.1:{self.port + TLS_PORT_OFFSET}, http2: true, "
                   f"tls: {{certificates: [{{cert: {cert}, key: {key}}}]}}}}")
        fill(os.path.join(PEERS, "sluice", "bench.yaml.template"), conf, {
            "PORT": self.port, "WORKERS": self.workers, "BROKER": broker,
            "SHARE": "true" if self.processes > 1 else "false", "TLS_LISTENER": tls,
            "IO_URING": "true" if self.io_uring else "false"})
        for i in range(self.processes):
            self.spawn([self.binary, "-c", conf], f"sluice-{i}.log")
            if self.processes > 1:
                # Each must be listening before the next starts, or the port looks taken.
                wait_until(lambda: port_open(self.port), 10, "sluice")
        wait_until(self._ready, 15, f"{self.name} ready")

    def _ready(self):
        self.check_alive()
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            c.request("GET", "/_sluice/ready")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    def sub_url(self):
        if self.transport != "plain":
            return self.secure_url("/bench/{c}/stream")
        return f"http://127.0.0.1:{self.port}/bench/{{c}}/stream"

    def pub_args(self):
        if self.redis_port:
            return ["--publish", "redis", "--redis", f"127.0.0.1:{self.redis_port}"]
        return ["--publish", "http", "--token", TOKEN,
                "--publish-url", f"http://127.0.0.1:{self.port}/_sluice/publish/bench:{{c}}"]

    def metric(self, name):
        """A counter from /_sluice/metrics (summed over labels), or None."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/_sluice/metrics")
            text = c.getresponse().read().decode()
            c.close()
        except OSError:
            return None
        total, found = 0.0, False
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                key = line.split()[0]
                if key == name or key.startswith(name + "{"):
                    total += float(line.split()[-1])
                    found = True
        return total if found else None


class Nchan(Server):
    name = "nchan"

    def __init__(self, workdir, port, workers=1, transport="plain"):
        if transport != "plain":
            self.name = f"nchan-{transport}"
            self.ramp = 2000
        super().__init__(workdir)
        self.port, self.workers, self.transport, self.workdir = port, workers, transport, workdir

    def _start(self):
        conf = os.path.join(self.dir, "nginx.conf")
        tls = ""
        if self.transport != "plain":
            cert, key = test_certificate(self.workdir)
            # nginx's defaults otherwise (protocols TLSv1.2 and 1.3, OpenSSL's cipher order),
            # as sluice's; HTTP/2 offered by ALPN beside http/1.1 on the same port.
            tls = (f"        listen 127.0.0.1:{self.port + TLS_PORT_OFFSET} ssl http2 backlog=4096;\n"
                   f"        ssl_certificate {cert};\n        ssl_certificate_key {key};")
        fill(os.path.join(PEERS, "nchan", "nginx.conf.template"), conf, {
            "RUNDIR": self.dir, "PORT": self.port, "WORKERS": self.workers,
            "NOFILE": 20000, "CONNS": 19500, "TLS_LISTEN": tls})
        self.spawn(["nginx", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                   "nginx.out")
        wait_until(lambda: self.check_alive() or port_open(self.port), 10, "nginx")

    def sub_url(self):
        if self.transport != "plain":
            return self.secure_url("/bench/{c}/stream")
        return f"http://127.0.0.1:{self.port}/bench/{{c}}/stream"

    def pub_args(self):
        # Nchan answers a publish only after its fan-out, so several connections keep the
        # publish rate up (channel c always uses connection c % 8, preserving order).
        return ["--publish", "http", "--publish-connections", "8",
                "--publish-url", f"http://127.0.0.1:{self.port}/pub/bench:{{c}}"]


class Pushpin(Server):
    """Pushpin with its own zurl (bigger queues than the runner's default) and the GRIP
    origin; the origin's CPU is not counted as Pushpin's."""

    name = "pushpin"
    ramp = 1000  # faster ramps get 502s from pushpin-proxy on this machine (see README)
    s1_ramp = 1000
    has_history = False

    def __init__(self, workdir, port):
        super().__init__(workdir)
        self.port, self.pub_port = port, port + 1
        self.zbase, self.origin_port = port + 2, port + 5

    def _start(self):
        conf = os.path.join(self.dir, "pushpin.conf")
        fill(os.path.join(PEERS, "pushpin", "pushpin.conf.template"), conf, {
            "RUNDIR": self.dir, "PORT": self.port, "PUBPORT": self.pub_port,
            "ZBASE0": self.zbase, "ZBASE1": self.zbase + 1, "ZBASE2": self.zbase + 2,
            "CONNS": 20000})
        with open(os.path.join(self.dir, "routes"), "w") as f:
            f.write(f"* 127.0.0.1:{self.origin_port}\n")
        zconf = os.path.join(self.dir, "zurl.conf")
        fill(os.path.join(PEERS, "pushpin", "zurl.conf.template"), zconf, {"RUNDIR": self.dir})
        self.origin = Proc(["python3", os.path.join(PEERS, "pushpin", "grip_origin.py"),
                            str(self.origin_port)], os.path.join(self.dir, "origin.log"))
        self.spawn(["zurl", f"--config={zconf}"], "zurl.out")
        self.spawn(["pushpin", "--config", conf], "pushpin.out")
        wait_until(lambda: self.check_alive() or (port_open(self.port) and
                                                  port_open(self.pub_port) and
                                                  port_open(self.origin_port)),
                   20, "pushpin")

    def stop(self):
        super().stop()
        if getattr(self, "origin", None):
            self.origin.stop()
            self.origin = None

    def sub_url(self):
        return f"http://127.0.0.1:{self.port}/bench/{{c}}/stream"

    def pub_args(self):
        # The publish endpoint closes the connection after each answer; sluice-bench then
        # sends one request per connection, so several connections run in parallel.
        return ["--publish", "http", "--publish-format", "pushpin", "--publish-connections", "8",
                "--publish-url", f"http://127.0.0.1:{self.pub_port}/publish/"]


class Redis(Server):
    name = "redis"

    def __init__(self, workdir, port):
        super().__init__(workdir)
        self.port = port

    def _start(self):
        self.spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", self.dir,
                    "--maxclients", "1000"], "redis.log")
        wait_until(lambda: self.check_alive() or port_open(self.port), 10, "redis")


class RedisCluster(Server):
    """Three masters, no replicas (the bench measures the data path, not failover), made
    with redis-cli --cluster create; stopped like any server."""
    name = "redis-cluster"

    def __init__(self, workdir, base_port, masters=3):
        super().__init__(workdir)
        self.ports = [base_port + i for i in range(masters)]

    def _start(self):
        for port in self.ports:
            self.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", self.dir,
                        "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                        "--cluster-node-timeout", "5000", "--maxclients", "1000"],
                       f"redis-{port}.log")
        for port in self.ports:
            wait_until(lambda p=port: self.check_alive() or port_open(p), 10, "redis cluster node")
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"127.0.0.1:{p}" for p in self.ports], "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)

        def settled():
            for port in self.ports:
                out = subprocess.run(["redis-cli", "-p", str(port), "cluster", "info"],
                                     capture_output=True, text=True, timeout=5).stdout
                if "cluster_state:ok" not in out:
                    return False
            return True
        wait_until(settled, 30, "the redis cluster")

    def nodes(self):
        return "[" + ", ".join(f"redis://127.0.0.1:{p}" for p in self.ports) + "]"


class H3(Server):
    name = "h3"
    has_history = False

    def __init__(self, workdir, port, redis_port):
        super().__init__(workdir)
        self.port, self.redis_port = port, redis_port

    def _start(self):
        h3dir = os.path.join(PEERS, "h3")
        self.spawn(["node", os.path.join(h3dir, "server.mjs"), str(self.port),
                    str(self.redis_port)], "h3.log", cwd=h3dir)
        wait_until(lambda: self.check_alive() or port_open(self.port), 15, "h3")
        time.sleep(0.3)  # the shared subscriber's PSUBSCRIBE

    def sub_url(self):
        return f"http://127.0.0.1:{self.port}/bench/{{c}}/stream"

    def pub_args(self):
        return ["--publish", "redis", "--redis", f"127.0.0.1:{self.redis_port}"]
