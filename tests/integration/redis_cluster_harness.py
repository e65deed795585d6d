"""A real Redis Cluster for the sluice integration tests: 3 masters and 3 replicas
(redis-server --cluster-enabled yes, each in its own temp dir on a free loopback port,
joined by `redis-cli --cluster create --cluster-replicas 1`), every child tracked by its
PID and ended by it; a cluster-aware RESP client that follows MOVED / ASK like a worker's
client library; and sluice configs with `broker: {type: redis-cluster}`. Every wait is
bounded."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from harness import HOST, make_config, wait_until
from redis_harness import Resp, RespError, fcall_args

KEY_PREFIX = "sluice:"
NODE_TIMEOUT_MS = 1000  # how long before a silent master is failed over


def crc16(data):
    """CRC16-CCITT (XMODEM), the checksum of Redis Cluster key slots."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The slot of a key: of its hash tag ({...}, not empty) if it has one."""
    key = key.encode() if isinstance(key, str) else key
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key) % 16384


def _port_pair_free(port):
    """port and its cluster bus port (port + 10000) can both be bound now."""
    if port + 10000 > 65535:
        return False
    for p in (port, port + 10000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, p))
            except OSError:
                return False
    return True


def _free_cluster_port(taken):
    """A port whose bus port is free too, clear of the ports (and bus ports) in taken."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        clash = {port, port + 10000} & ({p for p in taken} | {p + 10000 for p in taken})
        if not clash and _port_pair_free(port):
            return port
    raise AssertionError("no free port pair for a cluster node")


class ClusterNodeProcess:
    def __init__(self, binary, port, root):
        self.port = port
        self.dir = os.path.join(root, str(port))
        os.makedirs(self.dir)
        self.log_path = os.path.join(self.dir, "redis.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "",
                 # Replicas sync at once (the default waits 5 s for more replicas): a
                 # replica that never synced cannot take over from a killed master.
                 "--repl-diskless-sync-delay", "0",
                 "--appendonly", "no", "--dir", self.dir],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def cmd(self, *args, timeout=5.0):
        client = Resp(self.port, timeout=timeout)
        try:
            return client.cmd(*args)
        finally:
            client.close()


class RedisCluster:
    """3 masters + 3 replicas on loopback. start() creates the cluster and waits until
    every node reports cluster_state:ok and the same slot map; cleanup() kills every child
    by PID and removes the temp dirs (unless SLUICE_KEEP_TMP)."""

    def __init__(self, masters=3, replicas=1):
        self.binary = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        if not self.binary or not self.cli:
            raise AssertionError("redis-server and redis-cli are needed "
                                 "(./deploy/install-deps.sh --test installs redis-server, redis-tools)")
        self.count = masters * (1 + replicas)
        self.replicas = replicas
        self.dir = tempfile.mkdtemp(prefix="sluice-cluster-")
        self.nodes = []

    def start(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        taken = set()
        for _ in range(self.count):
            port = _free_cluster_port(taken)
            taken.add(port)
            self.nodes.append(ClusterNodeProcess(self.binary, port, self.dir))
        for i in range(len(self.nodes)):
            # A port taken meanwhile by another process makes the node exit: try another.
            for attempt in range(3):
                node = self.nodes[i]
                wait_until(lambda n=node: self._pings(n) or not n.running(),
                           max(deadline - time.monotonic(), 1), 0.05,
                           f"cluster node {node.port} to answer PING")
                if node.running():
                    break
                if attempt == 2:
                    raise AssertionError("cluster nodes could not bind their ports")
                port = _free_cluster_port(taken)
                taken.add(port)
                self.nodes[i] = ClusterNodeProcess(self.binary, port, self.dir)
        addresses = [f"{HOST}:{n.port}" for n in self.nodes]
        out = subprocess.run([self.cli, "--cluster", "create", *addresses,
                              "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                             stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=max(deadline - time.monotonic(), 1))
        if out.returncode != 0:
            raise AssertionError(f"redis-cli --cluster create failed: {out.stdout!r} {out.stderr!r}")
        self.wait_settled(max(deadline - time.monotonic(), 1))
        return self

    @staticmethod
    def _pings(node):
        try:
            return node.cmd("PING", timeout=1.0) == "PONG"
        except (OSError, ConnectionError, RespError):
            return False

    def live_nodes(self):
        return [n for n in self.nodes if n.running()]

    def slot_table(self, node):
        """{(first, last): master port} as `node` sees it."""
        table = {}
        for entry in node.cmd("CLUSTER", "SLOTS"):
            table[(entry[0], entry[1])] = entry[2][1]
        return table

    def wait_settled(self, timeout=30.0):
        """Every live node says cluster_state:ok, all agree on the slot map (covering
        every slot), and every live replica's link to its master is up (synced)."""
        def settled():
            try:
                tables = []
                for n in self.live_nodes():
                    info = n.cmd("CLUSTER", "INFO").decode()
                    if "cluster_state:ok" not in info:
                        return False
                    repl = n.cmd("INFO", "replication").decode()
                    if "role:slave" in repl and "master_link_status:up" not in repl:
                        return False
                    tables.append(self.slot_table(n))
                if not tables or any(t != tables[0] for t in tables):
                    return False
                covered = sum(last - first + 1 for first, last in tables[0])
                return covered == 16384
            except (OSError, ConnectionError, RespError):
                return False
        wait_until(settled, timeout, 0.1, "the redis cluster to settle")

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def master_port(self, key):
        """The port of the master serving key's slot (as a live node sees it)."""
        slot = key_slot(key)
        for (first, last), port in self.slot_table(self.live_nodes()[0]).items():
            if first <= slot <= last:
                return port
        raise AssertionError(f"no master for slot {slot}")

    def replica_ports(self, master_port):
        """Live replicas of a master (from CLUSTER REPLICAS ... on the master's peers)."""
        master = self.node(master_port)
        node_id = master.cmd("CLUSTER", "MYID").decode()
        ports = []
        for line in self.live_nodes()[0].cmd("CLUSTER", "NODES").decode().splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[3] == node_id and "slave" in fields[2] \
                    and "fail" not in fields[2]:
                ports.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
        return ports

    def failover(self, master_port, timeout=20.0):
        """CLUSTER FAILOVER on a replica of the master (coordinated: the replica catches
        up first, no write is lost); returns the new master's port once all agree."""
        # Right after the cluster is created a node may not have heard of the replicas
        # yet (gossip): wait for one rather than take an empty list for "none".
        replica = wait_until(lambda: self.replica_ports(master_port), timeout, 0.05,
                             f"a replica of {master_port} to be known")[0]
        self.node(replica).cmd("CLUSTER", "FAILOVER")
        wait_until(lambda: self._serves(replica, master_port), timeout, 0.05,
                   f"replica {replica} to take over from {master_port}")
        self.wait_settled(timeout)
        return replica

    def _serves(self, new_port, old_port):
        try:
            ports = set(self.slot_table(self.live_nodes()[0]).values())
            return new_port in ports and old_port not in ports
        except (OSError, ConnectionError, RespError):
            return False

    def kill(self, port):
        """SIGKILL one node (by its PID)."""
        self.node(port).kill()

    def seeds(self, n=2):
        return [f"redis://{HOST}:{node.port}" for node in self.nodes[:n]]

    def client(self):
        return ClusterClient(self)

    def dump_logs(self, n=15):
        for node in self.nodes:
            try:
                with open(node.log_path, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            print(f"\n----- redis-server :{node.port} log, last {n} lines -----", file=sys.stderr)
            print("\n".join(lines[-n:]), file=sys.stderr)

    def cleanup(self):
        for node in self.nodes:
            node.kill()
        if not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class ClusterClient:
    """What a worker's cluster-aware Redis client does: sends each command to the master
    of its key's slot and follows MOVED / ASK. cmd() retries, up to `timeout`, while the
    slot's master cannot be reached or the cluster is settling (a failover); `ambiguous`
    counts commands whose connection broke after sending (they may have run)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.conns = {}
        self.ambiguous = 0
        self.last_port = None  # the node that answered the last cmd()

    def _conn(self, port):
        if port not in self.conns:
            self.conns[port] = Resp(port, timeout=2.0)
        return self.conns[port]

    def _drop(self, port):
        conn = self.conns.pop(port, None)
        if conn:
            conn.close()

    def cmd(self, key, *args, timeout=20.0):
        deadline = time.monotonic() + timeout
        port = None
        asking = False
        while True:
            if port is None:
                try:
                    port = self.cluster.master_port(key)
                except (OSError, ConnectionError, RespError, AssertionError):
                    port = None
            sent = False
            try:
                if port is None:
                    raise ConnectionError("no master known")
                conn = self._conn(port)
                if asking:
                    conn.send(["ASKING"])
                    conn.reply()
                conn.send(list(args))
                sent = True
                reply = conn.reply()
                self.last_port = port
                return reply
            except RespError as e:
                text = str(e)
                if text.startswith("MOVED ") or text.startswith("ASK "):
                    port = int(text.split()[2].rsplit(":", 1)[1])
                    asking = text.startswith("ASK ")
                    continue
                if not text.startswith(("CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "LOADING")):
                    raise
            except (OSError, ConnectionError):
                if sent:
                    self.ambiguous += 1
                self._drop(port) if port is not None else None
            asking = False
            port = None
            if time.monotonic() >= deadline:
                raise AssertionError(f"cluster command {args[0]} for {key!r} did not succeed "
                                     f"within {timeout}s")
            time.sleep(0.05)

    def wait_replicas(self, replicas=1, timeout_ms=2000):
        """WAIT on the connection of the last command: how many replicas have it."""
        return self._conn(self.last_port).cmd("WAIT", replicas, timeout_ms)

    def spublish(self, channel, payload):
        return self.cmd(channel, "SPUBLISH", channel, payload)

    def fcall_publish(self, channel, payload, event=None):
        return self.cmd(channel, *fcall_args(channel, payload, event))

    def close(self):
        for port in list(self.conns):
            self._drop(port)


def cluster_config(cluster, routes, workers=1, history="{size: 1000, ttl: 1h}",
                   reconnect="{min: 50ms, max: 300ms}"):
    nodes = ", ".join(cluster.seeds())
    broker = (f"type: redis-cluster\nnodes: [{nodes}]\nkey_prefix: \"{KEY_PREFIX}\"\n"
              f"history: {history}\nreconnect: {reconnect}\n")
    return make_config(routes=routes, workers=workers, broker=broker)
