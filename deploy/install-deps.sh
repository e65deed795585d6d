#!/usr/bin/env bash
# Installs what building, running and testing sluice needs on Debian 12.
# Idempotent: skips apt when every package is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev node-llhttp nlohmann-json3-dev libyaml-cpp-dev catch2 libhiredis-dev libssl-dev
  redis-server python3 curl ca-certificates
)
# Tests drive real Node clients. Keep the machine's own Node.js (v20) when it has one:
# Debian's npm package would pull in Debian's older nodejs.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
# The browser test drives Debian's Chromium through playwright-core (no browser download).
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium chromium-driver)
fi
# The fuzz targets (tests/fuzz) build with clang 14 and link its libFuzzer runtime.
if [ "${1:-}" = "--test" ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian starts a system redis-server on install; tests start their own on free ports.
