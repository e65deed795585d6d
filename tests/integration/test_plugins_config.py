"""Plugins in the config: `plugins:` lists on routes and on publish are checked by
`sluice --check` like every other key, each error as FILE:LINE:COL: message."""

import os
import subprocess
import tempfile
import unittest

from harness import make_config, sluice_bin


def check(text):
    with tempfile.TemporaryDirectory(prefix="sluice-plugins-") as d:
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@PORT@", "0"))
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        return r.returncode, r.stderr.replace(path, "FILE"), r.stdout


ROUTE = """
- path: /events/{id}
  sse: {channel: "events:{id}"}
"""


def config_with_plugins(plugins_yaml):
    """A route whose `plugins:` list is `plugins_yaml` (its items, one per line)."""
    items = "".join("    " + line + "\n" for line in plugins_yaml.strip("\n").splitlines())
    return make_config(routes=ROUTE + "  plugins:\n" + items)


class PluginConfigTest(unittest.TestCase):
    def line_of(self, text, needle):
        for n, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return n, line.index(needle) + 1
        raise AssertionError(f"{needle!r} not in config")

    def test_unknown_plugin_name_is_an_error_at_the_name(self):
        text = config_with_plugins("- no_such_plugin: {}")
        code, err, _ = check(text)
        self.assertEqual(code, 1, err)
        line, col = self.line_of(text, "no_such_plugin")
        self.assertIn(f"FILE:{line}:{col}: routes[0].plugins[0]: unknown plugin 'no_such_plugin'", err)

    def test_item_that_is_not_a_one_key_map_is_an_error(self):
        text = config_with_plugins("- just-a-name")
        code, err, _ = check(text)
        self.assertEqual(code, 1, err)
        line, col = self.line_of(text, "just-a-name")
        self.assertIn(f"FILE:{line}:{col}: routes[0].plugins[0]: a plugin is a map with one key", err)

    def test_publish_plugins_unknown_name(self):
        text = make_config().replace("publish:\n", "publish:\n  plugins: [{nope: {}}]\n")
        code, err, _ = check(text)
        self.assertEqual(code, 1, err)
        line, col = self.line_of(text, "nope")
        self.assertIn(f"FILE:{line}:{col}: publish.plugins[0]: unknown plugin 'nope'", err)

    def test_empty_plugins_list_is_accepted(self):
        code, err, out = check(make_config(routes=ROUTE + "  plugins: []\n"))
        self.assertEqual(code, 0, err)
        self.assertIn(": ok", out)


if __name__ == "__main__":
    unittest.main()
