"""broker: redis outages. The subscriber connection killed while sequenced events are
published (nothing lost, nothing twice); redis-server stopped (ready 503, broker_up 0,
streams held with heartbeats) and restarted empty (function loaded again, reset gap);
`on_broker_down: pending` while down, with polls still answered from local history; a
stream opened while Redis is down is held and replayed once it is back. Each test runs
its own redis-server and sluice."""

import contextlib
import json
import os
import signal
import unittest

from harness import (TOKEN, Conn, SseClient, build_request, get_json, ids, metric_sum, metrics,
                     wait_metric)
from redis_harness import (PENDING, RedisServer, another_gateway, fcall_args, redis_config,
                           wait_ready)

ROUTES = """
- path: /s/{id}
  sse:
    channel: c:{id}
    heartbeat: 200ms
- path: /pending/{id}
  sse:
    channel: c:{id}
    heartbeat: 200ms
    on_broker_down: pending
- path: /p/{id}
  poll:
    channel: c:{id}
"""

CHANNEL = "c:job"


class RedisOutageTest(unittest.TestCase):

    def start(self, workers=1):
        """Starts this test's redis-server and sluice (stopped by the test's cleanups)."""
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        self.redis = stack.enter_context(RedisServer())
        config = redis_config(self.redis.port, routes=ROUTES, workers=workers)
        self.gw = stack.enter_context(another_gateway(config, self.redis))
        self.port = self.gw.port
        self.addCleanup(self.dump_if_failed)  # runs before the servers are stopped

    def dump_if_failed(self):
        # unittest records a failure in the result as it happens, before the cleanups run.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result and any(test is self for test, _ in result.failures + result.errors):
            self.gw.dump_logs()
            self.redis.dump_log()

    def sse(self, path, headers=None):
        client = SseClient(self.port, path, headers)
        self.addCleanup(client.close)
        self.assertEqual(client.status, 200)
        self.assertIn("text/event-stream", client.headers.get("content-type", ""))
        return client

    def metric(self, name, **labels):
        return metric_sum(metrics(self.port), name, **labels)

    def seed(self, n):
        """FCALLs e1..en on CHANNEL and waits until sluice has them."""
        self.assertEqual(self.redis.fcall_many(CHANNEL, [f"e{i}" for i in range(1, n + 1)]),
                         list(range(1, n + 1)))
        wait_metric(self.port, "sluice_broker_messages_total", lambda v: v >= n,
                    f"{n} sequenced messages to arrive", mode="sequenced")

    def assert_events(self, events, first, last):
        self.assertEqual([e["event"] for e in events], [None] * len(events), "no gap event")
        self.assertEqual(ids(events), list(range(first, last + 1)))
        self.assertEqual([e["data"] for e in events], [f"e{i}" for i in range(first, last + 1)])

    def read_heartbeats(self, client, n):
        """Reads n heartbeat comments; fails if an event with data comes first."""
        for _ in range(n):
            blocks = client.read_until(lambda b: "heartbeat" in b["comments"], timeout=3,
                                       all_blocks=True)
            self.assertEqual([b for b in blocks if b["data"] is not None], [],
                             "no event may arrive while Redis is down")

    def test_pubsub_kill_loses_nothing_two_workers(self):
        self.start(workers=2)
        clients = [self.sse("/s/job") for _ in range(4)]  # spread over both loops
        self.assertEqual(self.redis.fcall_many(CHANNEL, [f"e{i}" for i in range(1, 6)]),
                         [1, 2, 3, 4, 5])
        for client in clients:
            self.assert_events(client.read_events(5), 1, 5)
        reconnects = self.metric("sluice_broker_reconnects_total")

        # Kill sluice's subscriber and publish 6..10 in the same write, before it can
        # possibly be back: those events exist only in Redis history.
        replies = self.redis.pipeline(["CLIENT", "KILL", "TYPE", "pubsub"],
                                      *[fcall_args(CHANNEL, f"e{i}") for i in range(6, 11)])
        self.assertGreaterEqual(replies[0], 1, "sluice's subscriber was not a pubsub client")
        self.assertEqual(replies[1:], [6, 7, 8, 9, 10])
        wait_metric(self.port, "sluice_broker_reconnects_total", lambda v: v > reconnects,
                    "reconnects_total to increase")
        wait_ready(self.port)
        self.assertEqual(self.redis.fcall_many(CHANNEL, [f"e{i}" for i in range(11, 16)]),
                         list(range(11, 16)))
        for client in clients:
            self.assert_events(client.read_events(10), 6, 15)
            self.assertIsNone(client.next_event(0.3), "each event exactly once")
        self.assertGreaterEqual(self.metric("sluice_broker_recovered_total"), 5)

    def test_a_reply_after_the_504_does_not_answer_the_next_request(self):
        # Redis frozen (SIGSTOP, its socket open): a publish waits for its reply and gets
        # 504 after 10 s. The next request on the same connection must get its own answer
        # when Redis wakes up, never the late reply to the first.
        self.start()
        conn = Conn(self.port, timeout=30)
        self.addCleanup(conn.close)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            conn.send(build_request("POST", "/_sluice/publish/c:late", auth, "first"))
            status, _, body = conn.read_response()
            self.assertEqual(status, 504, body)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        conn.send(build_request("POST", "/_sluice/publish/c:late", auth, "second"))
        status, _, body = conn.read_response()
        self.assertEqual(status, 200, body)
        position = json.loads(body)["position"]
        # Both publishes reached Redis (the first one was only late): the second answer
        # is the second event's position, which the stream shows with its own payload.
        events = {e["id"]: e["data"] for e in self.sse("/s/late", {"Last-Event-ID": "0"}).read_events(2)}
        self.assertEqual(events.get(str(position)), "second", events)

    def test_redis_stopped_then_restarted_empty(self):
        self.start()
        client = self.sse("/s/job")
        self.seed(3)
        self.assert_events(client.read_events(3), 1, 3)
        reconnects = self.metric("sluice_broker_reconnects_total")

        self.redis.stop()
        wait_ready(self.port, ready=False)
        status, _, body = get_json(self.port, "/_sluice/ready")
        self.assertEqual((status, body), (503, {"ready": False}))
        wait_metric(self.port, "sluice_broker_up", lambda v: v == 0, "broker_up 0")
        self.read_heartbeats(client, 2)
        self.assertFalse(client.closed, "open streams stay open while Redis is down")

        self.redis.start()  # same port, no keys, no functions
        wait_ready(self.port)
        self.assertEqual(self.metric("sluice_broker_up"), 1)
        self.redis.wait_function()  # sluice loaded it again
        self.assertGreater(self.metric("sluice_broker_reconnects_total"), reconnects)

        # Positions restart at 1 on the empty Redis: the client, which has 3, is told.
        self.assertEqual(self.redis.fcall_publish(CHANNEL, "e1"), 1)
        gap, event = client.read_events(2)
        self.assertEqual(gap["event"], "gap")
        self.assertIsNone(gap["id"])
        self.assertEqual(json.loads(gap["data"]), {"from": 1, "to": 3, "reset": True})
        self.assert_events([event], 1, 1)
        self.assertEqual(self.redis.fcall_publish(CHANNEL, "e2"), 2)
        self.assert_events(client.read_events(1), 2, 2)

    def test_pending_route_while_down(self):
        self.start()
        self.seed(2)
        while_up = self.sse("/pending/job")  # an ordinary stream while Redis is up
        self.assert_events(while_up.read_events(2), 1, 2)
        while_up.close()

        self.redis.stop(save=True)
        wait_ready(self.port, ready=False)
        client = self.sse("/pending/job")
        self.assertTrue(client.wait_closed(5), "the pending answer must close the stream")
        messages = [b for b in client.queued() if b["data"] is not None]
        self.assertEqual(len(messages), 1, f"exactly one event, got {messages}")
        self.assertEqual(messages[0]["data"], json.dumps(PENDING, separators=(",", ":")))
        self.assertEqual((messages[0]["event"], messages[0]["id"]), (None, None))

        # Polling is answered from local history meanwhile.
        status, _, body = get_json(self.port, "/p/job?position=0")
        self.assertEqual(status, 200)
        self.assertEqual([(e["id"], e["data"]) for e in body["events"]], [(1, "e1"), (2, "e2")])
        status, _, body = get_json(self.port, "/p/job?position=1")
        self.assertEqual(([e["id"] for e in body["events"]], body["position"]), ([2], 2))

        self.redis.start()
        wait_ready(self.port)
        again = self.sse("/pending/job?position=1")
        self.assert_events(again.read_events(1), 2, 2)

    def test_stream_opened_while_down_is_held_then_replayed(self):
        self.start()
        self.seed(2)
        self.redis.stop(save=True)  # comes back with its keys and the function
        wait_ready(self.port, ready=False)
        client = self.sse("/s/job")
        self.read_heartbeats(client, 3)
        self.assertFalse(client.closed)

        self.redis.start()
        wait_ready(self.port)
        self.assert_events(client.read_events(2), 1, 2)
        self.assertEqual(self.redis.fcall_publish(CHANNEL, "e3"), 3)
        self.assert_events(client.read_events(1), 3, 3)
        self.assertIsNone(client.next_event(0.3))


if __name__ == "__main__":
    unittest.main()
