"""Issue 8 ("Exactness"), the store side: a publish that cannot be stored is refused
(503), never acknowledged and dropped; reading channels creates no lasting state and does
not use up limits.max_channels; limits.max_history_bytes evicts the least recently used
idle channels first, and a resume into evicted history gets a gap, never a wrong event.
The Redis parts (a PUBLISH or FCALL at the cap is counted and seen as a gap) are in
test_exact_store_redis.py."""

import json
import threading
import unittest

from harness import (Conn, Gateway, SseClient, build_request, get_json, ids, make_config,
                     metric_sum, metrics, publish, publish_position, wait_metric, wait_until)

CAP = 3


def poll_events(port, channel_id, position=0):
    status, _, body = get_json(port, f"/p/{channel_id}?position={position}")
    assert status == 200, (status, body)
    return body


def publish_concurrently(port, channels):
    """One POST per channel, each on its own connection and thread, all at once (with
    workers: 2 they land on both loops). Returns {channel: (status, body)}."""
    results = {}
    barrier = threading.Barrier(len(channels))

    def one(ch):
        barrier.wait(5)
        status, _, body = publish(port, f"c:{ch}", json.dumps({"type": "chunk", "ch": ch}))
        results[ch] = (status, body)

    threads = [threading.Thread(target=one, args=(ch,)) for ch in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == len(channels), "a publish did not finish"
    return results


class PublishAtChannelCapTest(unittest.TestCase):
    """At max_channels, a publish to a new channel answers 503 and stores nothing."""

    def run_cap(self, workers):
        with Gateway(make_config(workers=workers, limits={"max_channels": CAP})) as gw:
            stored = [f"w{workers}-kept{i}" for i in range(CAP)]
            for ch in stored:
                self.assertEqual(publish_position(gw.port, f"c:{ch}", "x"), 1)
            wait_metric(gw.port, "sluice_channels_stored", lambda v: v == CAP)

            status, headers, body = publish(gw.port, f"c:w{workers}-refused", "y")
            self.assertEqual(status, 503, body)
            self.assertIn("application/json", headers.get("content-type", ""))
            self.assertEqual(json.loads(body)["status"], 503)
            self.assertIn("max_channels", json.loads(body)["error"])
            gw.wait_log(lambda l: "channel limit" in l.get("msg", "")
                        and l.get("channel") == f"c:w{workers}-refused",
                        what="a log line for the refused publish")
            # Nothing of it was kept: a reader finds no event and no position.
            body = poll_events(gw.port, f"w{workers}-refused")
            self.assertEqual((body["events"], body["position"]), ([], 0))
            # A channel that holds events still takes more.
            self.assertEqual(publish_position(gw.port, f"c:{stored[0]}", "x2"), 2)

            # Many at once, spread over connections (and loops): all refused, and the
            # channels that were kept still hold their events.
            results = publish_concurrently(gw.port, [f"w{workers}-burst{i}" for i in range(12)])
            for ch, (status, body) in results.items():
                self.assertEqual(status, 503, f"{ch}: {status} {body!r}")
            for ch in stored:
                got = poll_events(gw.port, ch)
                self.assertEqual(got["events"][0]["id"], 1, ch)
            self.assertEqual(metric_sum(metrics(gw.port), "sluice_channels_stored"), CAP)

    def test_workers_1(self):
        self.run_cap(1)

    def test_workers_2(self):
        self.run_cap(2)

    def test_concurrent_new_channels_workers_2_every_200_is_stored(self):
        with Gateway(make_config(workers=2, limits={"max_channels": CAP})) as gw:
            channels = [f"race{i}" for i in range(16)]
            results = publish_concurrently(gw.port, channels)
            accepted = [ch for ch, (status, _) in results.items() if status == 200]
            refused = [ch for ch, (status, _) in results.items() if status == 503]
            self.assertEqual(len(accepted), CAP, results)
            self.assertEqual(len(accepted) + len(refused), len(channels), results)
            for ch in accepted:
                self.assertEqual(json.loads(results[ch][1]), {"position": 1})
                # Whichever loop answers the read has the event.
                for _ in range(4):
                    got = poll_events(gw.port, ch)
                    self.assertEqual([e["id"] for e in got["events"]], [1], ch)
                    self.assertEqual(json.loads(got["events"][0]["data"])["ch"], ch)
            for ch in refused:
                for _ in range(4):
                    self.assertEqual(poll_events(gw.port, ch)["events"], [], ch)


class ReadsCreateNoStateTest(unittest.TestCase):
    """Reads (SSE and poll, with and without wait) of unknown channels under a small cap
    leave no channel behind once the readers are gone, and never block a real publish."""

    def channels_gauge(self, port):
        return metric_sum(metrics(port), "sluice_channels")

    def run_reads(self, workers):
        with Gateway(make_config(workers=workers, limits={"max_channels": 2})) as gw:
            port = gw.port
            # 1. Pipelined polls of 2000 new channels on one connection (the probe).
            conn = Conn(port, timeout=10)
            n = 2000
            conn.send(b"".join(build_request("GET", f"/p/unknown{i}?position=0") for i in range(n)))
            for _ in range(n):
                status, headers = conn.read_head()
                self.assertEqual(status, 200)
                conn.read_body(status, headers)
            conn.close()

            # 2. Open SSE streams and waiting long-polls on unknown channels...
            streams = []
            for i in range(20):
                client = SseClient(port, f"/s/stream{i}")
                self.addCleanup(client.close)
                self.assertEqual(client.status, 200)
                client.next_event(5, all_blocks=True)  # retry: attached
                streams.append(client)
            waiting = []
            for i in range(20):
                c = Conn(port, timeout=10)
                self.addCleanup(c.close)
                c.send(build_request("GET", f"/p/wait{i}?position=0&wait=2"))
                waiting.append(c)
            wait_metric(port, "sluice_poll_waiting", lambda v: v == 20, "20 long-polls held")
            self.assertEqual(metric_sum(metrics(port), "sluice_channels_stored"), 0)

            # ...do not use up max_channels: real publishes to new channels go through,
            # and the stream attached to one of them receives its event.
            self.assertEqual(publish_position(port, "c:real-a", "a"), 1)
            self.assertEqual(publish_position(port, "c:stream0", "s"), 1)
            self.assertEqual(ids(streams[0].read_events(1)), [1])

            # 3. Readers leave (streams closed, long-polls answered at their wait).
            for client in streams:
                client.close()
            for c in waiting:
                status, headers = c.read_head()
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(c.read_body(status, headers))["events"], [])
                c.close()
            # Loops hold channels only for readers: none is left. The two channels that
            # hold events keep them in the process's history (counted once).
            wait_metric(port, "sluice_channels", lambda v: v == 0,
                        "channels of readers to be dropped")
            m = metrics(port)
            self.assertEqual(metric_sum(m, "sluice_channels_stored"), 2)
            self.assertEqual(metric_sum(m, "sluice_poll_waiting"), 0)

    def test_reads_workers_1(self):
        self.run_reads(1)

    def test_reads_workers_2(self):
        self.run_reads(2)


EVENT = 1000  # payload bytes; encoded events are a little larger
BUDGET = 8192


class HistoryBudgetTest(unittest.TestCase):
    """limits.max_history_bytes: idle channels go first (least recently used), a channel
    with a live stream keeps its history, the gauge stays within the budget, and a resume
    into an evicted channel gets a gap (its positions are never reused)."""

    def test_idle_lru_channels_evicted_first(self):
        cfg = make_config(limits={"max_event_size": 2048, "max_history_bytes": BUDGET})
        with Gateway(cfg) as gw:
            port = gw.port
            live = SseClient(port, "/s/live")
            self.addCleanup(live.close)
            self.assertEqual(live.status, 200)
            for i in range(2):
                publish_position(port, "c:live", json.dumps({"n": i, "pad": "x" * EVENT}))
            self.assertEqual(ids(live.read_events(2)), [1, 2])
            for i in range(20):
                self.assertEqual(publish_position(port, f"c:idle{i}", "y" * EVENT), 1)
                m = metrics(port)
                self.assertLessEqual(metric_sum(m, "sluice_history_bytes"), BUDGET)
            m = metrics(port)
            self.assertGreater(metric_sum(m, "sluice_history_evictions_total",
                                          reason="idle_channel"), 0)
            self.assertEqual(metric_sum(m, "sluice_history_evictions_total",
                                        reason="oldest_events"), 0)

            # The streamed channel kept its history: a second reader replays it whole.
            again = SseClient(port, "/s/live?position=0")
            self.addCleanup(again.close)
            self.assertEqual(ids(again.read_events(2)), [1, 2])
            # The least recently used idle channel lost its event; the newest kept its.
            self.assertEqual([e["id"] for e in poll_events(port, "idle19")["events"]], [1])
            resumed = SseClient(port, "/s/idle0?position=0")
            self.addCleanup(resumed.close)
            first = resumed.next_event(5)
            self.assertEqual(first["event"], "gap")
            self.assertEqual(json.loads(first["data"]), {"from": 1, "to": 1})
            self.assertEqual(poll_events(port, "idle0")["gap"], {"from": 1, "to": 1})
            # Its head was kept: the next event continues the count, and a reader that
            # had event 1 gets exactly event 2.
            self.assertEqual(publish_position(port, "c:idle0", "z"), 2)
            event = resumed.next_event(5)
            self.assertEqual((event["id"], event["data"]), ("2", "z"))


if __name__ == "__main__":
    unittest.main()
