"""A listen port is sluice's alone unless the config asks to share it: a second process on
the same address is refused with a clear error, and with share_listen_port: true several
processes serve one port together (SO_REUSEPORT across processes)."""

import os
import subprocess
import tempfile
import unittest

from harness import Gateway, http_request, make_config, sluice_bin, wait_until


def second_instance(config_text, port, timeout=5):
    """Runs another sluice on the same port; returns the Popen and its stderr path."""
    d = tempfile.mkdtemp(prefix="sluice-it-second-")
    path = os.path.join(d, "sluice.yaml")
    with open(path, "w") as f:
        f.write(config_text.replace("@PORT@", str(port)))
    err_path = os.path.join(d, "error.log")
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sluice_bin(), "-c", path], stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL)
    return proc, err_path


class ListenPortTest(unittest.TestCase):
    def test_second_process_on_the_same_port_is_refused(self):
        config = make_config()
        with Gateway(config) as gw:
            proc, err_path = second_instance(config, gw.port)
            try:
                self.assertEqual(proc.wait(timeout=10), 1)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            with open(err_path) as f:
                err = f.read()
            self.assertIn("Address already in use", err)
            self.assertIn("share_listen_port", err)
            status, _, _ = http_request(gw.port, "GET", "/_sluice/health")
            self.assertEqual(status, 200)  # the first one is untouched

    def test_shared_port_serves_from_both_processes(self):
        config = make_config(extra="share_listen_port: true")
        with Gateway(config) as gw:
            proc, err_path = second_instance(config, gw.port)
            try:
                def second_listening():
                    with open(err_path) as f:
                        return '"listening"' in f.read()
                wait_until(second_listening, 10, what="second process listening")
                self.assertIsNone(proc.poll())
                for _ in range(20):
                    status, _, _ = http_request(gw.port, "GET", "/_sluice/health")
                    self.assertEqual(status, 200)
            finally:
                proc.terminate()
                self.assertEqual(proc.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
