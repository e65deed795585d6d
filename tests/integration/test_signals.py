"""Signals: SIGTERM/SIGINT drain (streams told and closed, long polls answered, exit 0);
SIGHUP reload (new routes serve, open streams keep receiving; a broken file is reported
as file:line:col and the old config is kept)."""

import re
import signal
import threading
import unittest
from datetime import datetime

from harness import (DEFAULT_ROUTES, Gateway, SseClient, http_request, ids, make_config,
                     publish_position, wait_metric, wait_until)

NEW_ROUTE = """
- path: /newpoll/{id}
  poll:
    channel: c:{id}
"""


def status_of(gw, path):
    return http_request(gw.port, "GET", path)[0]


class DrainTest(unittest.TestCase):
    def open_stream(self, gw, ch):
        client = SseClient(gw.port, f"/s/{ch}")
        self.addCleanup(client.close)
        self.assertEqual(client.status, 200)
        client.next_event(5, all_blocks=True)  # retry: subscribed
        return client

    def test_sigterm_closes_streams_answers_polls_exits_0(self):
        with Gateway(make_config()) as gw:
            streams = [self.open_stream(gw, "one"), self.open_stream(gw, "two")]
            publish_position(gw.port, "c:one", "before drain")
            self.assertEqual(ids(streams[0].read_events(1)), [1])

            answer = {}
            poller = threading.Thread(daemon=True, target=lambda: answer.update(
                r=http_request(gw.port, "GET", "/p/three?position=0&wait=25", timeout=20)))
            poller.start()
            # The poll must be held (not merely accepted) before the signal.
            wait_metric(gw.port, "sluice_poll_waiting", lambda v: v >= 1, "the poll to be held")

            gw.send_signal(signal.SIGTERM)
            for n, client in enumerate(streams):
                with self.subTest(stream=n):
                    self.assertTrue(client.wait_closed(10), "stream not closed by the drain")
                    blocks = client.queued()
                    self.assertTrue(any(b["comments"] for b in blocks),
                                    f"no drain comment before the close: {blocks}")
            poller.join(15)
            self.assertFalse(poller.is_alive(), "long poll not answered on SIGTERM")
            self.assertIn("r", answer, "long poll connection closed without an answer")
            self.assertEqual(answer["r"][0], 200)
            self.assertEqual(gw.wait_exit(10), 0)
            gw.check_clean_exit()
            reasons = [l.get("reason") for l in gw.access_log_lines() if l.get("type") == "stream"]
            self.assertEqual(reasons.count("drain"), 2, reasons)

    def test_drain_pace_spreads_the_closes_and_hints_a_jittered_retry(self):
        # 16 streams, each closed at a random time in a 3 s window: the first and the last
        # close are then (but for a chance below 1e-7) at least 0.75 s apart. Unpaced, the
        # test above closes them in the same turn.
        with Gateway(make_config(extra="drain_pace: 3s")) as gw:
            streams = [self.open_stream(gw, f"paced{n}") for n in range(16)]
            gw.send_signal(signal.SIGTERM)
            for n, client in enumerate(streams):
                with self.subTest(stream=n):
                    self.assertTrue(client.wait_closed(10), "stream not closed by the drain")
                    blocks = client.queued()
                    retries = [b["retry"] for b in blocks if b["retry"] is not None]
                    # The route's retry (2000 ms) plus up to as much again at random.
                    self.assertEqual(len(retries), 1, blocks)
                    self.assertTrue(2000 <= retries[0] <= 4000, retries)
                    self.assertTrue(any(b["comments"] for b in blocks), blocks)
            self.assertEqual(gw.wait_exit(10), 0)
            gw.check_clean_exit()
            ends = [datetime.strptime(l["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
                    for l in gw.access_log_lines() if l.get("type") == "stream"
                    and l.get("reason") == "drain"]
            self.assertEqual(len(ends), 16)
            self.assertGreaterEqual((max(ends) - min(ends)).total_seconds(), 0.75, ends)

    def test_sigint_exits_0_with_open_stream(self):
        with Gateway(make_config()) as gw:
            client = self.open_stream(gw, "int")
            gw.send_signal(signal.SIGINT)
            self.assertTrue(client.wait_closed(10))
            self.assertEqual(gw.wait_exit(10), 0)
            gw.check_clean_exit()


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.v1 = make_config()
        self.v2 = make_config(routes=DEFAULT_ROUTES + NEW_ROUTE)

    def test_sighup_adds_route_and_keeps_open_streams(self):
        with Gateway(self.v1) as gw:
            stream = SseClient(gw.port, "/s/keep")
            self.addCleanup(stream.close)
            stream.next_event(5, all_blocks=True)
            self.assertEqual(status_of(gw, "/newpoll/keep?position=0"), 404)

            gw.write_config(self.v2)
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: status_of(gw, "/newpoll/keep?position=0") == 200,
                       what="the new route after SIGHUP")

            pos = publish_position(gw.port, "c:keep", "after reload")
            event = stream.next_event(5)
            self.assertEqual((event["id"], event["data"]), (str(pos), "after reload"))
            self.assertFalse(stream.closed)
            fresh = SseClient(gw.port, "/s/keep?position=0")
            self.addCleanup(fresh.close)
            self.assertEqual(ids(fresh.read_events(1)), [pos])

    def test_sighup_with_broken_file_keeps_old_config(self):
        with Gateway(self.v1) as gw:
            stream = SseClient(gw.port, "/s/steady")
            self.addCleanup(stream.close)
            stream.next_event(5, all_blocks=True)

            broken = self.v2.replace("drain_timeout: 5s\n", "drain_timeout: 5s\nbogus_key: 1\n")
            line = broken.splitlines().index("bogus_key: 1") + 1
            gw.write_config(broken)
            gw.send_signal(signal.SIGHUP)
            where = re.compile(rf"sluice\.yaml:{line}:1\b")
            wait_until(lambda: where.search(gw.error_log()), what=f"an error at line {line}")

            self.assertTrue(gw.running(), "a bad reload must not stop the gateway")
            self.assertEqual(status_of(gw, "/newpoll/steady?position=0"), 404)
            self.assertEqual(status_of(gw, "/p/steady?position=0"), 200)
            pos = publish_position(gw.port, "c:steady", "still here")
            self.assertEqual(stream.next_event(5)["id"], str(pos))

            gw.write_config(self.v2)  # a good file afterwards is taken
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: status_of(gw, "/newpoll/steady?position=0") == 200,
                       what="the new route after fixing the file")
            self.assertFalse(stream.closed)

    def test_restart_only_keys_are_compared_with_the_running_values(self):
        """Changing `workers` warns that it needs a restart; reverting it (back to what
        runs) and reloading again must not warn: the comparison is with the running
        process, not with the previous file."""
        with Gateway(self.v1) as gw:
            warnings = lambda: gw.error_log().count("take effect only after a restart")
            gw.write_config(self.v1.replace("workers: 1", "workers: 2"))
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: warnings() == 1, what="the restart warning")
            self.assertIn('"keys":"workers"', gw.error_log())
            reloads = lambda: gw.error_log().count("config reloaded")
            before = reloads()
            gw.write_config(self.v2)  # workers back to 1, plus a new route
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: reloads() > before, what="the second reload")
            self.assertEqual(status_of(gw, "/newpoll/x?position=0"), 200)
            self.assertEqual(warnings(), 1, gw.error_log())


if __name__ == "__main__":
    unittest.main()
