#!/usr/bin/env bash
# Runs the demo (deploy/run.sh calls this after building): sluice on conf/demo.yaml at
# 127.0.0.1:8080, the demo app service deploy/demo/app.py at 127.0.0.1:3001 behind its
# /api/ proxy route, and a ticker that publishes to the "demo" channel every 2 seconds.
# Open http://127.0.0.1:8080/ and press "Start analysis". Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
sluice=${SLUICE_BIN:-./build/sluice}
config=${SLUICE_CONFIG:-conf/demo.yaml}
token=${SLUICE_TOKEN:-dev-token}
base=http://127.0.0.1:8080

"$sluice" -c "$config" &
sluice_pid=$!
python3 deploy/demo/app.py --listen 127.0.0.1:3001 --sluice "$base" --token "$token" &
app_pid=$!
ticker_pid=
cleanup() {
  trap - EXIT INT TERM
  for pid in $ticker_pid $app_pid; do kill "$pid" 2>/dev/null || true; done
  # On Ctrl-C the terminal signals sluice too: give it a moment to drain by itself
  # rather than a second signal, which makes it close every connection at once.
  if [ "${1:-}" = INT ]; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$sluice_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  kill "$sluice_pid" 2>/dev/null || true
  wait "$sluice_pid" 2>/dev/null || true
}
trap cleanup EXIT TERM
trap 'cleanup INT; exit 130' INT

# The ticker publishes through the HTTP publish endpoint like any worker would.
(
  n=0
  sleep 1
  while kill -0 "$sluice_pid" 2>/dev/null; do
    n=$((n + 1))
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" \
      --data "{\"type\":\"tick\",\"n\":$n,\"time\":\"$(date -u +%H:%M:%S)\"}" \
      "$base/_sluice/publish/demo" || true
    sleep 2
  done
) &
ticker_pid=$!

echo "the demo is running: open $base/ in a browser, or curl -N $base/demo/stream" \
     "(Ctrl-C stops)"
# Stop everything when sluice or the demo app exits.
wait -n "$sluice_pid" "$app_pid"
