"""Helpers for the tests of the deploy/ recipes: where they are, YAML loading (PyYAML,
Debian's python3-yaml), sluice durations, and `sluice --check` on a config with exactly
the environment a recipe gives it."""

import os
import re
import subprocess
import tempfile
import unittest

from harness import sluice_bin, source_dir


def deploy_path(*parts):
    return os.path.join(source_dir(), "deploy", *parts)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def yaml_module():
    try:
        import yaml
    except ImportError:
        raise AssertionError("PyYAML is missing: deploy/install-deps.sh --test installs "
                             "python3-yaml") from None
    return yaml


def load_yaml_all(path):
    """Every document of a YAML file (None documents dropped)."""
    return [d for d in yaml_module().safe_load_all(read(path)) if d is not None]


_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(text):
    """A sluice (or systemd/compose) duration: 250ms, 30s, 10m, 1h, or a bare number of
    seconds."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", text)
    if not m:
        raise AssertionError(f"not a duration: {text!r}")
    return int(m.group(1)) * _UNITS_MS[m.group(2) or "s"]


def drain_timeout_ms(config_text):
    """drain_timeout of a sluice config (10s when not set)."""
    cfg = yaml_module().safe_load(config_text)
    return duration_ms(cfg.get("drain_timeout", "10s"))


def port_of(address):
    return int(str(address).rsplit(":", 1)[1])


def check_config(text, env, name="sluice.yaml"):
    """Runs `sluice --check` on `text` with only `env` (plus PATH) in its environment:
    (exit code, stdout + stderr)."""
    with tempfile.TemporaryDirectory(prefix="sluice-deploy-") as d:
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        full_env.update(env)
        r = subprocess.run([sluice_bin(), "--check", "-c", path], capture_output=True,
                           text=True, timeout=10, env=full_env, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout + r.stderr


def require_tool(name):
    """The tool's path; skips (naming the package script) when it is not installed."""
    import shutil
    path = shutil.which(name)
    if not path:
        raise unittest.SkipTest(f"{name} is not installed (deploy/install-deps.sh --test "
                                f"installs it)")
    return path
