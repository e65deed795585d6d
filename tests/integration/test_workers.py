"""workers: 2 runs two event loops, each with its own SO_REUSEPORT listener: 16 streams
spread over both loops, and one publish reaches every stream on every loop; the history
is the process's, so streams on either loop replay and resume exactly."""

import unittest

from harness import (GatewayTestCase, SseClient, ids, make_config, metric_series, metric_sum,
                     metrics, publish_position, wait_until)

STREAMS = 16


def listening(gw):
    return [line for line in gw.error_log_json() if line.get("msg") == "listening"]


class WorkersTest(GatewayTestCase):
    CONFIG = make_config(workers=2)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        def both_up():  # per the contract a "listening" line per worker; metrics as fallback
            return len(listening(cls.gw)) >= 2 or len(metric_series(
                metrics(cls.port), "sluice_worker_connections_open")) >= 2
        try:
            wait_until(both_up, 10, what="both workers up")
        except AssertionError:
            cls.gw.dump_logs()
            cls.gw.cleanup()
            raise

    def open_streams(self, ch):
        clients = []
        for _ in range(STREAMS):
            client = SseClient(self.port, f"/s/{ch}")
            self.addCleanup(client.close)
            self.assertEqual(client.status, 200)
            client.next_event(5, all_blocks=True)  # retry: subscribed
            clients.append(client)
        return clients

    def test_both_workers_listen(self):
        lines = listening(self.gw)
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(all(l.get("address") == f"127.0.0.1:{self.port}" for l in lines), lines)

    def test_publish_reaches_streams_on_every_worker(self):
        ch = self.channel_id()
        clients = self.open_streams(ch)
        per_worker = metric_series(metrics(self.port), "sluice_worker_connections_open")
        busy = [lbl.get("worker") for lbl, v in per_worker if v > 0]
        self.assertGreaterEqual(len(per_worker), 2, per_worker)
        self.assertGreaterEqual(len(busy), 2, f"streams all on one worker? {per_worker}")

        positions = [publish_position(self.port, f"c:{ch}", f"to all {i}") for i in range(3)]
        self.assertEqual(positions, [1, 2, 3])
        for n, client in enumerate(clients):
            with self.subTest(stream=n):
                events = client.read_events(3)
                self.assertEqual(ids(events), [1, 2, 3])
                self.assertEqual([e["data"] for e in events], [f"to all {i}" for i in range(3)])

    def test_history_shared_across_workers(self):
        # Events published before connecting are replayed whichever loop takes the stream.
        ch = self.channel_id()
        for i in range(3):
            publish_position(self.port, f"c:{ch}", f"early {i}")
        for client in self.open_streams(ch):
            self.assertEqual(ids(client.read_events(3)), [1, 2, 3])

    def test_streams_on_both_loops_resume_exactly(self):
        # Issue 12: the history is held once for the process; each loop receives a
        # channel's events only while it has readers of it. Streams on both loops drop,
        # miss events, and resume with Last-Event-ID: each gets exactly what it missed.
        ch = self.channel_id()
        clients = self.open_streams(ch)
        per_worker = metric_series(metrics(self.port), "sluice_worker_connections_open")
        self.assertGreaterEqual(len([v for _, v in per_worker if v > 0]), 2, per_worker)
        for i in range(1, 3):
            self.assertEqual(publish_position(self.port, f"c:{ch}", f"e{i}"), i)
        for client in clients:
            self.assertEqual(ids(client.read_events(2)), [1, 2])
            client.close()
        # Every reader gone: no loop holds the channel, the process still has its events.
        wait_until(lambda: metric_sum(metrics(self.port), "sluice_channels") == 0, 10,
                   what="loops to let the channel go")
        for i in range(3, 7):
            self.assertEqual(publish_position(self.port, f"c:{ch}", f"e{i}"), i)
        resumed = []
        for _ in range(STREAMS):
            client = SseClient(self.port, f"/s/{ch}", {"Last-Event-ID": "2"})
            self.addCleanup(client.close)
            self.assertEqual(client.status, 200)
            resumed.append(client)
        per_worker = metric_series(metrics(self.port), "sluice_worker_connections_open")
        self.assertGreaterEqual(len([v for _, v in per_worker if v > 0]), 2, per_worker)
        for client in resumed:
            events = client.read_events(4)
            self.assertEqual(ids(events), [3, 4, 5, 6])
            self.assertEqual([e["data"] for e in events], [f"e{i}" for i in range(3, 7)])
        # And live from there, once each.
        self.assertEqual(publish_position(self.port, f"c:{ch}", "e7"), 7)
        for client in resumed:
            self.assertEqual(ids(client.read_events(1)), [7])
            self.assertIsNone(client.next_event(0.2), "no event twice")


if __name__ == "__main__":
    unittest.main()
