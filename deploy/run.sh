#!/usr/bin/env bash
# README command 1: install, build, and run the demo: sluice on conf/demo.yaml (memory
# broker) at http://127.0.0.1:8080/ with the demo app service behind its /api/ proxy
# route, the demo page on its static route, and a ticker publishing to the "demo"
# channel every 2 seconds (curl -N localhost:8080/demo/stream).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF >/dev/null
cmake --build build -j2 --target sluice
exec ./deploy/demo/run-demo.sh
