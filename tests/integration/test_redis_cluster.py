"""broker: redis-cluster on a real Redis Cluster (3 masters, 3 replicas on loopback):
key slots as CLUSTER KEYSLOT computes them; plain events published with SPUBLISH and
sequenced ones (sluice's publish endpoint, a worker's FCALL) reach two sluice instances
with the same positions; a client resumes on the other instance by Last-Event-ID; the
function is loaded on every master; a CLUSTER FAILOVER in the middle of a sequenced
stream loses and duplicates nothing, for an open stream and for a resuming one; a killed
master never makes a silent hole (a gap, if any, is reported as `event: gap`); a slot moved
to another master while a stream is open (a publish in the middle meets ASK) loses and
repeats nothing."""

import json
import threading
import time
import unittest

from harness import (Gateway, SseClient, get_json, ids, metric_sum, metrics, publish,
                     publish_position, wait_metric, wait_until)
from redis_cluster_harness import KEY_PREFIX, RedisCluster, cluster_config, key_slot
from redis_harness import wait_ready

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
- path: /p/{id}
  poll:
    channel: c:{id}
"""


class ClusterCase(unittest.TestCase):
    """One cluster and two sluice instances (a, b) per class."""

    WORKERS = 1

    @classmethod
    def setUpClass(cls):
        cls.cluster = RedisCluster()
        try:
            cls.cluster.start()
            cls.worker = cls.cluster.client()
            cls.a = cls.start_gateway()
            cls.b = cls.start_gateway()
        except BaseException:
            cls.cluster.dump_logs()
            cls.tear_down()
            raise

    @classmethod
    def start_gateway(cls):
        gw = Gateway(cluster_config(cls.cluster, ROUTES, workers=cls.WORKERS)).start()
        try:
            wait_ready(gw.port, timeout=20.0)
        except BaseException:
            gw.dump_logs()
            gw.cleanup()
            raise
        return gw

    @classmethod
    def tear_down(cls):
        try:
            for name in ("a", "b"):
                gw = getattr(cls, name, None)
                if gw:
                    try:
                        gw.stop()
                    finally:
                        gw.cleanup()
        finally:
            if getattr(cls, "worker", None):
                cls.worker.close()
            cls.cluster.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            self.a.dump_logs()
            self.b.dump_logs()
            self.cluster.dump_logs()
        return out

    def stream(self, gw, path, headers=None):
        client = SseClient(gw.port, path, headers, timeout=10.0)
        self.addCleanup(client.close)
        self.assertEqual(client.status, 200, client.body)
        return client

    def subscribed_stream(self, gw, path):
        """A stream whose channel the instance has subscribed to (both of its sharded
        channels): a plain SPUBLISH from now on reaches it. (The 200 can come first.)"""
        before = metric_sum(metrics(gw.port), "sluice_broker_subscriptions")
        client = self.stream(gw, path)
        wait_metric(gw.port, "sluice_broker_subscriptions", lambda v: v >= before + 2,
                    "the channel's sharded subscriptions", timeout=10.0)
        return client

    def assert_exact(self, events, first, last, data=None):
        self.assertEqual([e["event"] for e in events], [None] * len(events), f"no gap: {events}")
        self.assertEqual(ids(events), list(range(first, last + 1)))
        if data is not None:
            self.assertEqual([e["data"] for e in events], data)


class ClusterBasics(ClusterCase):
    WORKERS = 2  # each loop tells the feed which channels it holds
    def test_key_slots_are_the_ones_cluster_keyslot_gives(self):
        node = self.cluster.nodes[0]
        keys = ["foo", "bar", "{user1000}.following", "c:x", f"{KEY_PREFIX}{{c:x}}:seq",
                f"{KEY_PREFIX}seq:{{c:x}}", "foo{}{bar}", "foo{bar", "{{a}}", "{a}{b}"]
        for key in keys:
            self.assertEqual(node.cmd("CLUSTER", "KEYSLOT", key), key_slot(key), key)
        # The values tests/unit/broker/cluster_slots_test.cc expects of sluice's CRC16.
        self.assertEqual(node.cmd("CLUSTER", "KEYSLOT", "foo"), 12182)
        self.assertEqual(node.cmd("CLUSTER", "KEYSLOT", "bar"), 5061)
        # A channel's keys and its sequenced pub/sub channel share the channel's slot.
        self.assertEqual(key_slot(f"{KEY_PREFIX}seq:{{c:x}}"), key_slot("c:x"))

    def test_the_function_is_loaded_on_every_master(self):
        masters = set(self.cluster.slot_table(self.cluster.nodes[0]).values())
        self.assertEqual(len(masters), 3)
        for port in masters:
            self.assertTrue(self.cluster.node(port).cmd("FUNCTION", "LIST", "LIBRARYNAME", "sluice"),
                            f"sluice library on master {port}")

    def test_plain_spublish_reaches_both_instances(self):
        channel = "c:plain1"
        on_a = self.subscribed_stream(self.a, "/s/plain1")
        on_b = self.subscribed_stream(self.b, "/s/plain1")
        # Each process has one subscription to the channel, on the slot's master.
        for i in range(1, 4):
            self.assertEqual(self.worker.spublish(channel, f'{{"n":{i}}}'), 2)
        for client in (on_a, on_b):
            self.assert_exact(client.read_events(3), 1, 3, [f'{{"n":{i}}}' for i in range(1, 4)])

    def test_sequenced_publishes_agree_across_instances(self):
        on_a = self.stream(self.a, "/s/seq1")
        on_b = self.stream(self.b, "/s/seq1")
        self.assertEqual(publish_position(self.a.port, "c:seq1", "from-a"), 1)
        self.assertEqual(self.worker.fcall_publish("c:seq1", "from-worker", "note"), 2)
        self.assertEqual(publish_position(self.b.port, "c:seq1", "from-b"), 3)
        for client in (on_a, on_b):
            events = client.read_events(3)
            self.assertEqual(ids(events), [1, 2, 3])
            self.assertEqual([e["data"] for e in events], ["from-a", "from-worker", "from-b"])
            self.assertEqual([e["event"] for e in events], [None, "note", None])

    def test_channels_on_every_master_are_served(self):
        # One channel per master: each instance reaches every shard.
        by_master = {}
        for i in range(200):
            by_master.setdefault(self.cluster.master_port(f"c:spread{i}"), f"spread{i}")
            if len(by_master) == 3:
                break
        self.assertEqual(len(by_master), 3)
        for cid in by_master.values():
            for n in range(1, 3):
                self.assertEqual(self.worker.fcall_publish(f"c:{cid}", f"{cid}-{n}"), n)
        for cid in by_master.values():
            for gw in (self.a, self.b):
                self.assert_exact(self.stream(gw, f"/s/{cid}").read_events(2), 1, 2,
                                  [f"{cid}-1", f"{cid}-2"])

    def test_resume_by_last_event_id_on_the_other_instance(self):
        # Published before any client: sequenced events wait in Redis history.
        for n in range(1, 6):
            self.assertEqual(self.worker.fcall_publish("c:resume1", f"e{n}"), n)
        first = self.stream(self.a, "/s/resume1")
        self.assert_exact(first.read_events(3), 1, 3)
        first.close()
        second = self.stream(self.b, "/s/resume1", {"Last-Event-ID": "3"})
        self.assert_exact(second.read_events(2), 4, 5, ["e4", "e5"])
        self.assertEqual(self.worker.fcall_publish("c:resume1", "e6"), 6)
        self.assert_exact(second.read_events(1), 6, 6, ["e6"])
        # A poll on the first instance from position 4 answers the same events (once
        # e6 reached it too: pub/sub reaches instances at slightly different times).
        def polled():
            body = get_json(self.a.port, "/p/resume1?position=4")[2]
            return [(e["id"], e["data"]) for e in body["events"]]
        wait_until(lambda: polled() == [(5, "e5"), (6, "e6")], 10.0, 0.05, "e5 and e6 on a")


class Publisher(threading.Thread):
    """A worker publishing `count` sequenced events (payload "e<i>"), then a terminal
    event, at a steady pace; `on_publish(i)` runs after event i was acknowledged. With
    http_port every third event goes through that sluice's publish endpoint instead
    (its FCALL on the slot's master), sent again on a 503 (not run: see send_http)."""

    def __init__(self, cluster, channel, count, pace=0.03, on_publish=None, durable=None,
                 http_port=None):
        super().__init__(daemon=True)
        self.http_port = http_port
        # durable(): WAIT for the replica after this publish (docs/publishing.md).
        self.durable = durable or (lambda: False)
        self.not_replicated = []
        self.client = cluster.client()
        self.channel = channel
        self.count = count
        self.pace = pace
        self.on_publish = on_publish
        self.positions = {}  # position -> payload, as Redis acknowledged them
        self.error = None

    def run(self):
        try:
            for i in range(1, self.count + 1):
                if self.http_port and i % 3 == 0:
                    pos = self.send_http(f"e{i}")
                else:
                    pos = self.client.fcall_publish(self.channel, f"e{i}")
                self.positions[pos] = f"e{i}"
                if self.durable() and self.client.wait_replicas() < 1:
                    self.not_replicated.append(pos)
                if self.on_publish:
                    self.on_publish(i)
                time.sleep(self.pace)
            pos = self.client.fcall_publish(self.channel, json.dumps({"type": "done"}))
            self.positions[pos] = json.dumps({"type": "done"})
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.client.close()

    def send_http(self, payload, timeout=20.0):
        # sluice follows MOVED itself; while the slot has no reachable master it answers
        # 503 without having run the function (a connection lost mid-command would be
        # ambiguous: the exactness checks of the test would catch a double).
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = publish(self.http_port, self.channel, payload)
            if status == 200:
                return json.loads(body)["position"]
            if status != 503 or time.monotonic() >= deadline:
                raise AssertionError(f"publish answered {status}: {body!r}")
            time.sleep(0.05)


class ClusterFailover(ClusterCase):
    def test_failover_in_the_middle_of_a_sequenced_stream_loses_and_duplicates_nothing(self):
        channel, count = "c:fo1", 60
        master = self.cluster.master_port(channel)
        open_stream = self.stream(self.a, "/s/fo1")
        resuming = self.stream(self.b, "/s/fo1")
        failed_over = threading.Event()

        def maybe_failover(i):
            if i == 20:
                self.cluster.failover(master)
                failed_over.set()

        worker = Publisher(self.cluster, channel, count, on_publish=maybe_failover,
                           http_port=self.a.port)
        worker.start()
        # The resuming client leaves after 10 events and comes back after the failover.
        self.assert_exact(resuming.read_events(10, timeout=20.0), 1, 10)
        resuming.close()
        self.assertTrue(failed_over.wait(30.0), "the failover did not happen")
        resumed = self.stream(self.b, "/s/fo1", {"Last-Event-ID": "10"})
        worker.join(60.0)
        self.assertIsNone(worker.error)
        self.assertFalse(worker.is_alive())
        self.assertEqual(worker.client.ambiguous, 0, "a publish may have run twice")
        self.assertEqual(sorted(worker.positions), list(range(1, count + 2)))
        expected = [f"e{i}" for i in range(1, count + 1)] + [json.dumps({"type": "done"})]
        self.assert_exact(open_stream.read_events(count + 1, timeout=30.0), 1, count + 1, expected)
        self.assert_exact(resumed.read_events(count - 9, timeout=30.0), 11, count + 1, expected[10:])
        for client in (open_stream, resumed):
            self.assertTrue(client.wait_closed(5.0), "the terminal event ends the stream")
            self.assertEqual(client.queued(), [])
        self.assertNotEqual(self.cluster.master_port(channel), master)

    def test_events_lost_with_their_master_make_a_reset_never_a_silent_hole(self):
        # What a master that dies before its replica has its newest events leaves behind,
        # made on purpose: Redis forgets positions 4 and 5 after sluice delivered them,
        # and the count goes on from 3, so the next events take positions 4 and 5 again.
        channel = "c:lost1"
        client = self.stream(self.a, "/s/lost1")
        for n in range(1, 6):
            self.assertEqual(self.worker.fcall_publish(channel, f"e{n}"), n)
        self.assert_exact(client.read_events(5, timeout=10.0), 1, 5)
        master = self.cluster.node(self.cluster.master_port(channel))
        log = f"{KEY_PREFIX}{{{channel}}}:log"
        master.cmd("DEL", log)  # (XDEL would keep the stream's top ID at 5)
        for n in range(1, 4):
            master.cmd("XADD", log, f"{n}-0", "p", f"e{n}")
        master.cmd("SET", f"{KEY_PREFIX}{{{channel}}}:seq", 3)
        self.assertEqual(self.worker.fcall_publish(channel, "n4"), 4)
        # The failover moves the subscription; catching up, sluice finds that Redis no
        # longer holds the event it delivered at 5.
        self.cluster.failover(master.port)
        blocks = client.read_until(lambda b: b["data"] == "n4", timeout=20.0)
        gaps = [json.loads(b["data"]) for b in blocks if b["event"] == "gap"]
        self.assertEqual(gaps, [{"from": 1, "to": 5, "reset": True}], blocks)
        after = blocks[[b["event"] for b in blocks].index("gap") + 1:]
        self.assertEqual([(b["id"], b["data"]) for b in after],
                         [("1", "e1"), ("2", "e2"), ("3", "e3"), ("4", "n4")])
        self.assertEqual(self.worker.fcall_publish(channel, "n5"), 5)
        self.assertEqual([(e["id"], e["data"]) for e in client.read_events(1)], [("5", "n5")])
        self.a.wait_log(lambda l: l.get("channel") == channel and
                        "no longer holds" in l.get("msg", ""))


class ClusterMasterKilled(ClusterCase):
    def test_a_killed_master_never_leaves_a_silent_hole(self):
        # The worker WAITs for the replica after each publish, as docs/publishing.md
        # advises: an acknowledged event then survives its master. sluice must deliver
        # every one; should Redis still lose some, they must be announced as a gap.
        channel, count = "c:kill1", 60
        master = self.cluster.master_port(channel)
        on_a = self.stream(self.a, "/s/kill1")
        killed = threading.Event()

        def maybe_kill(i):
            if i == 20:
                self.cluster.kill(master)
                killed.set()

        # Until the kill: the promoted replica has none of its own to wait for.
        worker = Publisher(self.cluster, channel, count, pace=0.02, on_publish=maybe_kill,
                           durable=lambda: not killed.is_set())
        worker.start()
        worker.join(90.0)
        self.assertIsNone(worker.error)
        self.assertEqual(worker.not_replicated, [])
        # (The publish sent on the dead master's socket counts as ambiguous but cannot have
        # run; had any publish run twice, its extra position would fail the check below.)
        self.assertTrue(killed.is_set())
        done_position = max(worker.positions)
        blocks = on_a.read_until(lambda b: b["id"] == str(done_position) or
                                 (b["data"] and '"done"' in b["data"]), timeout=60.0)
        # Every event the client got carries the payload Redis acknowledged for its
        # position; every position it did not get is announced by a gap first.
        last = 0
        for block in blocks:
            if block["event"] == "gap":
                gap = json.loads(block["data"])
                self.assertEqual(gap["from"], last + 1, blocks)
                last = gap["to"]
                continue
            pos = int(block["id"])
            self.assertEqual(pos, last + 1, f"silent hole before {pos}: {blocks}")
            self.assertEqual(block["data"], worker.positions.get(pos), f"position {pos}")
            last = pos
        self.assertEqual(last, done_position)
        wait_ready(self.a.port, timeout=20.0)
        wait_ready(self.b.port, timeout=20.0)


class ClusterReshard(ClusterCase):
    def migrate_slot_keys(self, channel):
        """Starts moving the channel's slot to another master the way redis-cli --cluster
        reshard does, and moves its keys: the slot is still the old master's (MIGRATING), the
        keys are the new one's (IMPORTING), so the old master answers ASK. Returns
        (slot, old master's port, new master's port, new master's id)."""
        slot = key_slot(channel)
        src = self.cluster.master_port(channel)
        dst = next(p for p in self.cluster.slot_table(self.cluster.node(src)).values() if p != src)
        src_node, dst_node = self.cluster.node(src), self.cluster.node(dst)
        src_id = src_node.cmd("CLUSTER", "MYID").decode()
        dst_id = dst_node.cmd("CLUSTER", "MYID").decode()
        dst_node.cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        src_node.cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        keys = src_node.cmd("CLUSTER", "GETKEYSINSLOT", slot, 100)
        self.assertTrue(keys, "the channel's keys are in its slot")
        src_node.cmd("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)
        return slot, src, dst, dst_id

    def finish_migration(self, slot, dst_id):
        for port in {p for p in self.cluster.slot_table(self.cluster.live_nodes()[0]).values()}:
            self.cluster.node(port).cmd("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        self.cluster.wait_settled(20.0)

    def test_a_publish_during_a_reshard_follows_ask_and_streams_stay_exact(self):
        channel = "c:mv1"
        client = self.subscribed_stream(self.a, "/s/mv1")
        for n in range(1, 4):
            self.assertEqual(publish_position(self.a.port, channel, f"e{n}"), n)
        self.assert_exact(client.read_events(3, timeout=10.0), 1, 3, ["e1", "e2", "e3"])
        slot, _, dst, dst_id = self.migrate_slot_keys(channel)
        # The old master no longer has the keys: sluice's FCALL meets ASK and must run it on
        # the importing master (after ASKING), not fail or count from 1 again.
        self.assertEqual(publish_position(self.b.port, channel, "e4"), 4)
        self.finish_migration(slot, dst_id)
        self.assertEqual(self.cluster.master_port(channel), dst)
        # After the move (MOVED from the old master), publishing and the subscription follow
        # the slot; the event published while the slot moved reaches the open stream too
        # (live, or read back from history once the subscription moved).
        self.assertEqual(publish_position(self.a.port, channel, "e5"), 5)
        self.assert_exact(client.read_events(2, timeout=20.0), 4, 5, ["e4", "e5"])
        # A client resuming on the other instance reads everything from the new master.
        resumed = self.stream(self.b, "/s/mv1", {"Last-Event-ID": "2"})
        self.assert_exact(resumed.read_events(3, timeout=10.0), 3, 5, ["e3", "e4", "e5"])


if __name__ == "__main__":
    unittest.main()
