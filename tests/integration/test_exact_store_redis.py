"""Issue 8 ("Exactness") with a real redis-server: at limits.max_channels an event from
Redis (PUBLISH or FCALL sluice_publish) is dropped, counted in
sluice_events_dropped_total{reason="max_channels"}, logged, and seen by a resuming reader
as a gap; an HTTP publish is refused with 503 before anything reaches Redis."""

import json
import unittest

from harness import get_json, metric_sum, metrics, publish, publish_position, wait_metric
from redis_harness import RedisGatewayTestCase, log_key, seq_key

DROPPED = "sluice_events_dropped_total"


class RedisChannelCapTest(RedisGatewayTestCase):
    LIMITS = {"max_channels": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The one channel this process may hold events for.
        assert publish_position(cls.port, "c:holder", "first") == 1
        # It counts once it is back from Redis over the subscription.
        wait_metric(cls.port, "sluice_channels_stored", lambda v: v == 1)

    def dropped(self):
        return metric_sum(metrics(self.port), DROPPED, reason="max_channels")

    def first_message(self, path):
        client = self.sse(path)
        self.assertEqual(client.status, 200)
        return client, client.next_event(5)

    def test_plain_publish_at_cap_is_counted_logged_and_seen_as_gap(self):
        ch = self.channel_id()
        before = self.dropped()
        self.assertGreaterEqual(self.redis.publish(f"c:{ch}", "lost"), 1)  # sluice listens
        wait_metric(self.port, DROPPED, lambda v: v == before + 1, "the drop to be counted",
                    reason="max_channels")
        self.gw.wait_log(lambda l: "channel limit" in l.get("msg", "")
                         and l.get("channel") == f"c:{ch}", what="a log line for the drop")
        _, first = self.first_message(f"/s/{ch}?position=0")
        self.assertEqual(first["event"], "gap")
        self.assertEqual(json.loads(first["data"]), {"from": 1, "to": 1})
        status, _, body = get_json(self.port, f"/p/{ch}?position=0")
        self.assertEqual(status, 200)
        self.assertEqual((body["events"], body["gap"]), ([], {"from": 1, "to": 1}))

    def test_sequenced_publish_at_cap_is_counted_and_never_silent(self):
        ch = self.channel_id()
        before = self.dropped()
        self.assertEqual(self.redis.fcall_publish(f"c:{ch}", "kept in redis"), 1)
        wait_metric(self.port, DROPPED, lambda v: v == before + 1, "the drop to be counted",
                    reason="max_channels")
        # Position 1 is not silently skipped: the reader gets it back from Redis history
        # or a gap that names it.
        _, first = self.first_message(f"/s/{ch}?position=0")
        if first["event"] == "gap":
            self.assertEqual(json.loads(first["data"]), {"from": 1, "to": 1})
        else:
            self.assertEqual((first["id"], first["data"]), ("1", "kept in redis"))

    def test_http_publish_at_cap_is_refused_before_redis(self):
        ch = self.channel_id()
        status, _, body = publish(self.port, f"c:{ch}", "x")
        self.assertEqual(status, 503, body)
        self.assertIn("max_channels", json.loads(body)["error"])
        self.assertEqual(self.redis.cmd("EXISTS", seq_key(f"c:{ch}"), log_key(f"c:{ch}")), 0)

    def test_channel_holding_events_still_takes_publishes(self):
        self.assertGreaterEqual(publish_position(self.port, "c:holder", "more"), 2)
        # The FCALL answers before the event comes back over the subscription: wait.
        wait_metric(self.port, "sluice_channels_stored", lambda v: v == 1)


if __name__ == "__main__":
    unittest.main()
