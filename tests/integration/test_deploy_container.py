"""deploy/container: the Containerfile (multi-stage on Debian bookworm-slim, built with
the project's own install-deps, non-root, EXPOSE, HEALTHCHECK on the admin listener,
STOPSIGNAL) and compose.yaml (sluice + Redis + the demo app) checked statically, and
both configs accepted by `sluice --check` with the environment the recipes give them.
The runtime stage must install the package of every shared library the built binary
links. When podman or docker can run here, the image is also built and started."""

import os
import re
import shutil
import subprocess
import unittest

from deploy_files import (check_config, deploy_path, drain_timeout_ms, duration_ms,
                          load_yaml_all, port_of, read, yaml_module)
from harness import sluice_bin, source_dir

CONTAINERFILE = deploy_path("container", "Containerfile")
IMAGE_CONFIG = deploy_path("container", "sluice.yaml")
COMPOSE = deploy_path("container", "compose.yaml")
# Libraries every Debian image has (libc6, libstdc++6, libgcc-s1).
BASE_LIBS = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux", "linux-vdso")


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(instrs):
    """The instructions split at each FROM: [[(INSTR, args), ...], ...]."""
    out = []
    for ins in instrs:
        if ins[0] == "FROM":
            out.append([])
        out[-1].append(ins)
    return out


def compose_default(value):
    """Compose's own ${NAME:-default} interpolation, with the defaults."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", str(value))


class ContainerfileTest(unittest.TestCase):
    def setUp(self):
        self.instrs = instructions(read(CONTAINERFILE))
        self.build, self.run = stages(self.instrs)
        self.config = yaml_module().safe_load(read(IMAGE_CONFIG))

    def args(self, stage, name):
        return [a for i, a in stage if i == name]

    def test_two_stages_on_bookworm_slim(self):
        self.assertEqual(self.build[0], ("FROM", "debian:bookworm-slim AS build"))
        self.assertEqual(self.run[0], ("FROM", "debian:bookworm-slim"))
        runs = " ".join(self.args(self.build, "RUN"))
        self.assertIn("./deploy/install-deps.sh", runs)
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", runs)
        self.assertIn("COPY --from=build /src/build/sluice /usr/local/bin/sluice",
                      [f"COPY {a}" for a in self.args(self.run, "COPY")])
        # No compiler in the image that runs.
        self.assertNotIn("install-deps", " ".join(self.args(self.run, "RUN")))

    def test_copied_files_exist(self):
        for stage in (self.build, self.run):
            for a in self.args(stage, "COPY"):
                if a.startswith("--from="):
                    continue
                for src in a.split()[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(source_dir(), src)), src)

    def test_runs_as_a_user_that_is_not_root(self):
        user = self.args(self.run, "USER")
        self.assertEqual(len(user), 1)
        self.assertNotIn(user[0].split(":")[0], ("0", "root"))

    def test_ports_health_check_and_stop_signal_match_the_config(self):
        public = port_of(self.config["listen"])
        admin = port_of(self.config["admin"]["listen"])
        self.assertEqual(self.args(self.run, "EXPOSE"), [f"{public} {admin}"])
        health = self.args(self.run, "HEALTHCHECK")
        self.assertEqual(len(health), 1)
        self.assertIn(f"http://127.0.0.1:{admin}/_sluice/health", health[0])
        self.assertEqual(self.args(self.run, "STOPSIGNAL"), ["SIGTERM"])
        self.assertEqual(self.args(self.run, "ENTRYPOINT"), ['["/usr/local/bin/sluice"]'])
        self.assertEqual(self.args(self.run, "CMD"), ['["-c", "/etc/sluice/sluice.yaml"]'])
        self.assertIn("deploy/container/sluice.yaml /etc/sluice/sluice.yaml",
                      self.args(self.run, "COPY"))

    def test_the_image_config_passes_check(self):
        code, out = check_config(read(IMAGE_CONFIG), {"REDIS_URL": "redis://redis:6379/0",
                                                      "SLUICE_PUBLISH_TOKEN": "t"})
        self.assertEqual(code, 0, out)
        # The secret has no default: without it the check fails at its line.
        code, out = check_config(read(IMAGE_CONFIG), {"REDIS_URL": "redis://redis:6379/0"})
        self.assertEqual(code, 1, out)
        self.assertIn("SLUICE_PUBLISH_TOKEN is not set", out)

    def test_the_runtime_stage_installs_every_linked_library(self):
        if not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest("needs ldd and dpkg (Debian)")
        runs = " ".join(self.args(self.run, "RUN"))
        libs = subprocess.run(["ldd", sluice_bin()], capture_output=True, text=True,
                              check=True).stdout
        packages = set()
        for line in libs.splitlines():
            m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
            if not m or m.group(1).startswith(BASE_LIBS):
                continue
            if "asan" in m.group(1) or "ubsan" in m.group(1):
                continue  # sanitizer builds link their runtime; Release builds do not
            path = os.path.realpath(m.group(2))
            owner = None
            for candidate in (path, path.replace("/usr/lib/", "/lib/", 1)):
                r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0]
                    break
            self.assertIsNotNone(owner, f"no Debian package owns {path}")
            packages.add(owner)
        self.assertTrue(packages)
        for p in sorted(packages):
            self.assertRegex(runs, rf"(^|\s){re.escape(p)}(\s|$)",
                             f"the runtime stage does not install {p}")


class ComposeTest(unittest.TestCase):
    def setUp(self):
        (self.compose,) = load_yaml_all(COMPOSE)
        self.services = self.compose["services"]
        self.here = os.path.dirname(COMPOSE)

    def test_names_sluice_redis_and_the_demo_app(self):
        self.assertEqual(set(self.services), {"sluice", "redis", "app"})
        self.assertTrue(self.services["redis"]["image"].startswith("docker.io/library/redis:7"))
        build = self.services["sluice"]["build"]
        context = os.path.normpath(os.path.join(self.here, build["context"]))
        self.assertEqual(context, os.path.normpath(source_dir()))
        self.assertTrue(os.path.samefile(os.path.join(context, build["dockerfile"]),
                                         CONTAINERFILE))

    def sluice_config(self):
        sluice = self.services["sluice"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in sluice["volumes"]}
        config_path = sluice["command"][sluice["command"].index("-c") + 1]
        self.assertIn(config_path, mounts, "the config sluice runs is mounted")
        return read(os.path.join(self.here, mounts[config_path]))

    def test_mounted_files_exist(self):
        for name, svc in self.services.items():
            for v in svc.get("volumes", []):
                src = os.path.join(self.here, v.split(":")[0])
                self.assertTrue(os.path.exists(src), f"{name}: {src}")

    def test_ports_match_the_config_sluice_runs(self):
        cfg = yaml_module().safe_load(self.sluice_config())
        published = {int(p.rsplit(":", 1)[1]) for p in self.services["sluice"]["ports"]}
        self.assertEqual(published, {port_of(cfg["listen"]), port_of(cfg["admin"]["listen"])})
        # The admin port is published on the host's loopback only.
        admin = [p for p in self.services["sluice"]["ports"]
                 if p.endswith(f":{port_of(cfg['admin']['listen'])}")]
        self.assertTrue(admin[0].startswith("127.0.0.1:"), admin)

    def test_the_config_passes_check_with_the_compose_environment(self):
        env = {k: compose_default(v) for k, v in self.services["sluice"]["environment"].items()}
        code, out = check_config(self.sluice_config(), env)
        self.assertEqual(code, 0, out)
        # What the environment points at is what compose runs.
        self.assertEqual(env["REDIS_URL"], "redis://redis:6379/0")
        app_listen = self.services["app"]["command"]
        self.assertEqual(port_of(app_listen[app_listen.index("--listen") + 1]),
                         port_of(env["APP_UPSTREAM"]))
        self.assertEqual(app_listen[app_listen.index("--sluice") + 1], "http://sluice:8080")

    def test_stop_grace_period_exceeds_drain_timeout(self):
        grace = duration_ms(self.services["sluice"]["stop_grace_period"])
        self.assertGreater(grace, drain_timeout_ms(self.sluice_config()))

    def test_build_context_ignores_host_build_trees(self):
        ignore = read(os.path.join(source_dir(), ".dockerignore")).split()
        self.assertIn("build*/", ignore)


class ImageBuildTest(unittest.TestCase):
    """Builds and runs the image where a container runtime works (not on the machine
    these recipes were written on: see deploy/README.md)."""

    def runtime(self):
        for tool in ("podman", "docker"):
            path = shutil.which(tool)
            if path and subprocess.run([path, "info"], capture_output=True,
                                       timeout=60).returncode == 0:
                return path
        self.skipTest("no working podman or docker here; the image build was not run")

    def test_image_builds_and_runs(self):
        tool = self.runtime()
        tag = "localhost/sluice-test:latest"
        subprocess.run([tool, "build", "-f", CONTAINERFILE, "-t", tag, source_dir()],
                       check=True, timeout=3600)
        r = subprocess.run([tool, "run", "--rm", tag, "--version"], capture_output=True,
                           text=True, check=True, timeout=120)
        self.assertTrue(r.stdout.startswith("sluice "), r.stdout)


if __name__ == "__main__":
    unittest.main()
