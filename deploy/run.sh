#!/usr/bin/env bash
# README command 1: install, build, and run sluice on conf/sluice.yaml (memory broker),
# with a demo publisher that sends a tick to the "demo" channel every 2 seconds.
# Watch it with:  curl -N localhost:8080/demo/stream
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF >/dev/null
cmake --build build -j2 --target sluice
config=${SLUICE_CONFIG:-conf/sluice.yaml}

./build/sluice -c "$config" &
sluice_pid=$!
ticker_pid=
cleanup() {
  [ -n "$ticker_pid" ] && kill "$ticker_pid" 2>/dev/null || true
  kill "$sluice_pid" 2>/dev/null || true
  wait "$sluice_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The demo ticker publishes through the HTTP publish endpoint like any worker would.
(
  n=0
  sleep 1
  while kill -0 "$sluice_pid" 2>/dev/null; do
    n=$((n + 1))
    curl -s -o /dev/null -X POST -H "Authorization: Bearer ${SLUICE_TOKEN:-dev-token}" \
      --data "{\"type\":\"tick\",\"n\":$n,\"time\":\"$(date -u +%H:%M:%S)\"}" \
      "http://127.0.0.1:8080/_sluice/publish/demo" || true
    sleep 2
  done
) &
ticker_pid=$!
echo "sluice is running: curl -N http://127.0.0.1:8080/demo/stream   (Ctrl-C stops)"
wait "$sluice_pid"
