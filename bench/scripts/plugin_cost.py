#!/usr/bin/env python3
"""What plugins cost sluice, measured with sluice-bench (issue 11, item 5).

Four sse routes on the same channels in one config: `plain` (no plugins), `jwt` (RS256,
the token in Authorization), `jwt-nocache` (the same with `cache_size: 0`: every open
checks the signature, as a client's first visit does; with the cache, the bench's one token
is checked once and remembered, as for a client that reconnects) and `full` (cors + jwt +
rate_limit with limits no client reaches). Every variant's clients send the same headers (Origin and the token), so the
variants differ only in what the route runs. For each variant, interleaved `--runs` times,
each run on a fresh sluice:

- open: `--opens` streams opened at once and closed at the end, nothing published; server
  CPU from the launch of sluice-bench to its end, per stream (open + close + idle);
- S2: `--subs` streams on one channel, `--rate` events/s for `--window` s; server CPU per
  1M deliveries in the publish window less its first `--skip` s (the CPU sampler's 0.1 s
  steps would otherwise charge part of the stream opens, 7x dearer through RS256, to the
  deliveries) and without the drain and closes after it. None of these plugins has a
  per-event hook, so the target is within 5% of `plain`.

Prints the medians and the ratios to `plain`; --json writes every run.

    python3 bench/scripts/plugin_cost.py --build-dir build --runs 5
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from side_by_side import SluiceRunner  # noqa: E402

ORIGIN = "http://app.test"
VARIANTS = ("plain", "jwt", "jwt-nocache", "full")

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 1
broker: {{type: memory}}
publish: {{token: {token}}}
access_log: off
log_level: warn
limits: {{max_connections: 100000, max_connections_per_ip: 100000}}
routes:
  - path: /plain/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
  - path: /jwt/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
    plugins:
      - jwt: {{algorithms: [RS256], key_file: {key}}}
  - path: /jwt-nocache/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
    plugins:
      - jwt: {{algorithms: [RS256], key_file: {key}, cache_size: 0}}
  - path: /full/{{c}}/stream
    sse: {{channel: "bench:{{c}}"}}
    plugins:
      - cors: {{origins: ["{origin}"], credentials: true}}
      - jwt: {{algorithms: [RS256], key_file: {key}}}
      - rate_limit: {{requests_per_second: 1000000, burst: 1000000, max_streams: 1000000}}
"""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rs256_token(private_pem):
    """A token valid for a day, signed by the openssl CLI (the stdlib has no RSA)."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": "bench", "exp": int(time.time()) + 86400}).encode())
    signing_input = f"{header}.{claims}"
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", private_pem],
                         input=signing_input.encode(), capture_output=True, check=True).stdout
    return f"{signing_input}.{b64url(sig)}"


class Run:
    def __init__(self, args, workdir):
        self.args = args
        self.runner = SluiceRunner(args.build_dir, workdir)
        key = os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
        self.key = key
        self.headers = ["--header", f"Origin: {ORIGIN}",
                        "--header", f"Authorization: Bearer {rs256_token(key)}"]

    def open_cost(self, variant):
        n = self.args.opens
        rep, cpu_run, _ = self.runner.bench_run(
            CONFIG, f"/{variant}/{{c}}/stream",
            [*self.headers, "--connections", n, "--ramp", n, "--publish", "none"], n / n + 3,
            key=self.key, origin=ORIGIN)
        if rep["connected"] < n or rep["failed"]:
            raise RuntimeError(f"{variant}: {rep['connected']} of {n} connected, "
                               f"{rep['failed']} failed")
        return cpu_run / n * 1e6  # µs per stream

    def delivery_cost(self, variant):
        a = self.args
        return self.runner.s2_cpu_per_1m(
            CONFIG, f"/{variant}/{{c}}/stream", a.subs, a.rate, a.window, variant,
            headers=self.headers, skip=a.skip, key=self.key, origin=ORIGIN)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--opens", type=int, default=3000)
    ap.add_argument("--subs", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--skip", type=float, default=1.0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results = {v: {"open_us": [], "s2_cpu_per_1m": []} for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="sluice-plugin-cost-") as workdir:
        run = Run(args, workdir)
        for i in range(args.runs):
            for v in VARIANTS:
                results[v]["open_us"].append(run.open_cost(v))
                results[v]["s2_cpu_per_1m"].append(run.delivery_cost(v))
                print(f"run {i + 1} {v}: open {results[v]['open_us'][-1]:.1f} µs/stream, "
                      f"S2 {results[v]['s2_cpu_per_1m'][-1]:.3f} CPU-s/1M", flush=True)
    base = {k: statistics.median(results["plain"][k]) for k in ("open_us", "s2_cpu_per_1m")}
    print(f"\n{'route':>11} {'open µs/stream':>15} {'ratio':>6} {'S2 CPU-s/1M':>12} {'ratio':>6}")
    for v in VARIANTS:
        o = statistics.median(results[v]["open_us"])
        d = statistics.median(results[v]["s2_cpu_per_1m"])
        print(f"{v:>11} {o:>15.1f} {o / base['open_us']:>6.2f} {d:>12.3f} "
              f"{d / base['s2_cpu_per_1m']:>6.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
