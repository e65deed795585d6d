"""Command line: --version, --check on the shipped configs and on broken files
(FILE:LINE:COL: message per error, exit 1)."""

import glob
import os
import re
import subprocess
import tempfile
import unittest

from harness import Gateway, make_config, publish, sluice_bin, source_dir

ERROR_LINE = re.compile(r"^(.+):(\d+):(\d+): (.+)$")


def run_sluice(*args, timeout=10, cwd=None, env=None):
    full_env = dict(os.environ, **env) if env else None
    return subprocess.run([sluice_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd, env=full_env)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-cli-")
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, path):
        return run_sluice("--check", "-c", path)

    def errors(self, stderr):
        """{(line, col): message} of the FILE:LINE:COL lines on stderr."""
        found = {}
        for line in stderr.splitlines():
            m = ERROR_LINE.match(line.strip())
            if m:
                found[(int(m.group(2)), int(m.group(3)))] = (m.group(1), m.group(4))
        return found

    def test_version(self):
        r = run_sluice("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(),
                         r"^sluice \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,}|unknown), [A-Za-z+]+ build\)$")

    def test_config_flag_without_a_file(self):
        for args in (["-c"], ["--check", "-c"], ["--config"], ["-c", ""]):
            with self.subTest(args=args):
                r = run_sluice(*args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(f"{args[-1] if args[-1] else args[-2]} needs a file name", r.stderr)
                self.assertNotIn("unknown argument", r.stderr)

    def test_default_config_path_is_not_the_working_directory(self):
        # Without -c: $SLUICE_CONFIG, else /etc/sluice/sluice.yaml, wherever sluice starts.
        good = self.write("good.yaml", make_config().replace("@PORT@", "18082"))
        os.makedirs(os.path.join(self.dir.name, "conf"))
        self.write("conf/sluice.yaml", "not: [valid")  # the old relative default: ignored
        r = run_sluice("--check", cwd=self.dir.name, env={"SLUICE_CONFIG": good})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{good}: ok", r.stdout)
        if not os.path.exists("/etc/sluice/sluice.yaml"):
            r = run_sluice("--check", cwd=self.dir.name, env={"SLUICE_CONFIG": ""})
            self.assertEqual(r.returncode, 2)
            self.assertIn("no config file at /etc/sluice/sluice.yaml", r.stderr)
            self.assertIn("SLUICE_CONFIG", r.stderr)

    def test_check_shipped_configs(self):
        root = source_dir()
        files = sorted(glob.glob(os.path.join(root, "conf", "*.yaml")) +
                       glob.glob(os.path.join(root, "conf", "examples", "*.yaml")))
        if not files:
            self.skipTest("no conf/*.yaml or conf/examples/*.yaml in the source tree yet")
        for path in files:
            with self.subTest(config=os.path.relpath(path, root)):
                r = self.check(path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"{path}: ok", r.stdout + r.stderr)

    def test_check_valid_file(self):
        path = self.write("good.yaml", make_config().replace("@PORT@", "18080"))
        r = self.check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{path}: ok", r.stdout + r.stderr)

    def test_check_reports_every_error_with_position(self):
        text = ("listen: 127.0.0.1:18080\n"          # 1
                "colour: blue\n"                      # 2: unknown key
                "broker:\n"                           # 3
                "  type: memory\n"                    # 4
                "publish:\n"                          # 5
                "  token: t\n"                        # 6
                "routes:\n"                           # 7
                "  - path: /s/{id}\n"                 # 8
                "    sse:\n"                          # 9
                "      channel: c:{id}\n"             # 10
                "      heartbeat: often\n")           # 11: bad duration (value at col 18)
        path = self.write("bad.yaml", text)
        r = self.check(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        errors = self.errors(r.stderr)
        self.assertIn((2, 1), errors, r.stderr)
        self.assertIn((11, 18), errors, r.stderr)
        self.assertEqual(errors[(2, 1)][0], path)
        self.assertIn("colour", errors[(2, 1)][1])
        self.assertNotIn(f"{path}: ok", r.stdout + r.stderr)

    def test_unknown_nested_key(self):
        text = make_config().replace("@PORT@", "18080")
        text = text.replace("broker:\n", "limits:\n  max_conections: 5\nbroker:\n", 1)
        line = text.splitlines().index("  max_conections: 5") + 1
        path = self.write("typo.yaml", text)
        r = self.check(path)
        self.assertEqual(r.returncode, 1, r.stderr)
        errors = self.errors(r.stderr)
        self.assertIn((line, 3), errors, r.stderr)
        self.assertIn("max_conections", errors[(line, 3)][1])

    def test_bad_file_does_not_run(self):
        # Without --check a broken config must fail at start-up too, with the same report.
        path = self.write("bad.yaml", "listen: 127.0.0.1:18080\nworkerz: 1\n")
        r = run_sluice("-c", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"{path}:2:1", r.stderr)

    def test_repeated_placeholder_has_a_position(self):
        # The route table refuses a template that names a capture or placeholder twice;
        # --check uses the same grammar, so it refuses them too, each with file:line:col,
        # and a start with that file stops with the same report (not a message without
        # a position from the route table).
        text = ("listen: 127.0.0.1:18080\n"               # 1
                "broker: {type: memory}\n"                # 2
                "publish:\n"                              # 3
                "  token: t\n"                            # 4
                "  path: /p/{channel}/{channel}\n"        # 5: value at col 9
                "routes:\n"                               # 6
                "  - path: /a/{id}/{id}\n"                # 7: value at col 11
                "    sse: {channel: \"a:{id}\"}\n"        # 8
                "  - path: /b/{id}\n"                     # 9
                "    poll: {channel: \"b:{id}:{id}\"}\n")  # 10: value at col 21
        path = self.write("twice.yaml", text)
        for args in (["--check", "-c", path], ["-c", path]):
            with self.subTest(args=args):
                r = run_sluice(*args)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                errors = self.errors(r.stderr)
                self.assertEqual(errors.get((5, 9)),
                                 (path, "publish.path: capture {channel} appears twice"), r.stderr)
                self.assertEqual(errors.get((7, 11)),
                                 (path, "routes[0].path: capture {id} appears twice"), r.stderr)
                self.assertEqual(errors.get((10, 21)),
                                 (path, "routes[1].poll.channel: placeholder {id} appears twice"),
                                 r.stderr)
                self.assertEqual(len(errors), 3, r.stderr)

    def test_check_refuses_a_token_no_header_can_carry(self):
        # Issue 9: a blank token, or one with CR/LF, tabs or other control characters,
        # passed --check although no "Authorization: Bearer" header could ever match it.
        # The token is a secret: the error points at it but never repeats it.
        for token in ('" "', '"   "', '"sekr\\r\\nit"', '"sekr\\tit"', '"sekr\\x1bit"',
                      '"sekr it"', '"sekr\\u00e9t"'):
            with self.subTest(token=token):
                text = ("listen: 127.0.0.1:18080\n"
                        "broker: {type: memory}\n"
                        "publish:\n"
                        f"  token: {token}\n"
                        "routes: []\n")
                path = self.write("token.yaml", text)
                r = self.check(path)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                errors = self.errors(r.stderr)
                self.assertIn((4, 10), errors, r.stderr)
                self.assertIn("publish.token", errors[(4, 10)][1])
                self.assertNotIn("sekr", r.stdout + r.stderr)

    def test_check_missing_file(self):
        path = os.path.join(self.dir.name, "nope.yaml")
        r = self.check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.yaml", r.stderr)

    def test_environment_variables_in_values(self):
        """${NAME} takes a secret from the environment; an unset one is an error at its
        file:line:col that never echoes a value; ${NAME:-default} falls back."""
        text = ("listen: 127.0.0.1:@PORT@\nbroker: {type: memory}\npublish:\n"
                "  token: ${SLUICE_IT_TOKEN}\n"
                "limits: {client_buffer: '${SLUICE_IT_BUFFER:-64KiB}'}\n"
                "routes:\n  - path: /s/{id}\n    sse:\n      channel: 'c:{id}'\n")
        path = self.write("env.yaml", text.replace("@PORT@", "18081"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_IT_")}
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.errors(r.stderr)[(4, 10)][1],
                         "environment variable SLUICE_IT_TOKEN is not set (set it, or give a "
                         "default: ${SLUICE_IT_TOKEN:-default})")
        env["SLUICE_IT_TOKEN"] = "from-the-environment"
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("from-the-environment", r.stdout + r.stderr)
        # Running: the token the publisher must present is the variable's value.
        saved = os.environ.get("SLUICE_IT_TOKEN")
        os.environ["SLUICE_IT_TOKEN"] = "from-the-environment"
        try:
            with Gateway(text) as gw:
                self.assertEqual(publish(gw.port, "c:1", "{}", token="from-the-environment")[0], 200)
                self.assertEqual(publish(gw.port, "c:1", "{}", token="${SLUICE_IT_TOKEN}")[0], 403)
        finally:
            if saved is None:
                del os.environ["SLUICE_IT_TOKEN"]
            else:
                os.environ["SLUICE_IT_TOKEN"] = saved


if __name__ == "__main__":
    unittest.main()
