"""`io_uring: true`: each loop turn's socket writes go to the kernel in one io_uring
submission. The same exactness as the libuv path: every stream gets every event once and
in order, with two workers; a client that stops reading is still cut by the slow-client rule
without holding back the others (its sends are refused by the kernel and fall back to
libuv's write queue); an event larger than the socket buffer arrives whole; the switch is
read at start only, and a bad value is a config error with its position."""

import signal
import subprocess
import unittest

from harness import (Conn, Gateway, SseClient, ids, make_config, metric_sum, metrics,
                     publish_many, publish_position, sluice_bin, wait_metric)

SENDS = "sluice_io_uring_sends_total"
SLOW = "sluice_sse_slow_disconnects_total"


def uring_config(workers=1, limits=None, extra=""):
    return make_config(workers=workers, limits=limits, extra="io_uring: true\n" + extra)


class IoUringDeliveryTest(unittest.TestCase):
    def test_every_stream_gets_every_event_once_in_order(self):
        with Gateway(uring_config(workers=2)) as gw:
            gw.wait_log(lambda l: "io_uring" in l.get("msg", ""), what="io_uring start line")
            clients = [SseClient(gw.port, "/s/fan") for _ in range(40)]
            for c in clients:
                self.addCleanup(c.close)
                self.assertEqual(c.status, 200)
                c.next_event(5, all_blocks=True)  # retry: subscribed
            positions = publish_many(gw.port, "c:fan", [f"event {i}" for i in range(300)])
            self.assertEqual(positions, list(range(1, 301)))
            for c in clients:
                self.assertEqual(ids(c.read_events(300, timeout=20)), positions)
            # The writes went through io_uring (the counter is synced once a second).
            wait_metric(gw.port, SENDS, lambda v: v >= 40 * 300 / 2, timeout=5)

    def test_event_larger_than_the_socket_buffer_arrives_whole(self):
        with Gateway(uring_config(limits={"client_buffer": "4MiB"})) as gw:
            client = SseClient(gw.port, "/s/big", rcvbuf=4096, timeout=10)
            self.addCleanup(client.close)
            self.assertEqual(client.status, 200)
            client.next_event(5, all_blocks=True)
            payload = "".join(chr(ord("a") + i % 26) for i in range(1 << 19))
            pos = publish_position(gw.port, "c:big", payload)
            after = publish_position(gw.port, "c:big", "after")
            got = client.read_events(2, timeout=20)
            self.assertEqual([(int(e["id"]), e["data"]) for e in got],
                             [(pos, payload), (after, "after")])

    def test_stalled_client_is_cut_and_the_fast_one_keeps_every_event(self):
        with Gateway(uring_config(limits={"client_buffer": "8KiB"})) as gw:
            stalled = SseClient(gw.port, "/s/slow", rcvbuf=4096)  # never read after this
            self.addCleanup(stalled.close)
            fast = SseClient(gw.port, "/s/slow")
            self.addCleanup(fast.close)
            fast.next_event(5, all_blocks=True)
            publisher = Conn(gw.port)
            self.addCleanup(publisher.close)
            payload = "x" * 2048
            # Lock-step, bounded by count: each event only after the fast client has it, so
            # only the stalled one builds a backlog (the kernel takes a few MiB first).
            for i in range(6000):
                last = publish_position(gw.port, "c:slow", payload, conn=publisher)
                event = fast.next_event(5)
                self.assertIsNotNone(event, f"fast client stalled at event {last}")
                self.assertEqual(int(event["id"]), last)
                if i % 200 == 199 and metric_sum(metrics(gw.port), SLOW) >= 1:
                    break
            wait_metric(gw.port, SLOW, lambda v: v >= 1, timeout=10)
            self.assertTrue(stalled.wait_closed(20), "stalled connection was not closed")
            more = publish_position(gw.port, "c:slow", "after", conn=publisher)
            self.assertEqual(int(fast.next_event(5)["id"]), more)


class IoUringConfigTest(unittest.TestCase):
    def test_bad_value_is_refused_with_its_position(self):
        gw = Gateway(make_config(extra="io_uring: sometimes\n"))
        self.addCleanup(gw.cleanup)
        gw.port = 1
        gw.write_config(gw.config)
        out = subprocess.run([sluice_bin(), "--check", "-c", gw.config_path],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertRegex(out.stderr + out.stdout, r"sluice\.yaml:\d+:\d+: io_uring")

    def test_reload_keeps_the_running_value_and_says_so(self):
        with Gateway(make_config()) as gw:
            gw.write_config(uring_config())
            gw.send_signal(signal.SIGHUP)
            gw.wait_log(lambda l: "io_uring" in str(l.get("keys", "")),
                        what="restart-only warning naming io_uring")
            # Still the libuv path: no io_uring sends however much is written.
            client = SseClient(gw.port, "/s/reload")
            self.addCleanup(client.close)
            client.next_event(5, all_blocks=True)
            publish_many(gw.port, "c:reload", ["a", "b", "c"])
            self.assertEqual(ids(client.read_events(3)), [1, 2, 3])
            self.assertEqual(metric_sum(metrics(gw.port), SENDS), 0)


if __name__ == "__main__":
    unittest.main()
