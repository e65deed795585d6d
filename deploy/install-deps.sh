#!/usr/bin/env bash
# Installs what building, running and testing sluice needs on Debian 12.
# Idempotent: skips apt when every package is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev node-llhttp nlohmann-json3-dev libyaml-cpp-dev catch2 libhiredis-dev libssl-dev libjwt-dev libnghttp2-dev
  liburing-dev
  redis-server python3 curl ca-certificates
  redis-tools   # redis-cli: tests/integration/test_redis_cluster.py creates a cluster with it
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

# The deploy/ recipes are checked by the tools that run them: systemd-analyze (package
# systemd), haproxy, nginx (the small nginx-light flavour, unless an nginx is there), and
# PyYAML for the manifests.
if [ "${1:-}" = "--test" ]; then
  packages+=(python3-yaml)
  # tests/integration/test_tls_listen.py makes its certificates with the openssl tool.
  packages+=(openssl)
  # The HTTP/2 tests load sluice with h2load (many streams on few connections).
  packages+=(nghttp2-client)
  command -v systemd-analyze >/dev/null || packages+=(systemd)
  command -v haproxy >/dev/null || packages+=(haproxy)
  command -v nginx >/dev/null || packages+=(nginx-light)
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
# The same goes for nginx and haproxy: the tests run their own on free loopback ports, so
# the services the packages start are stopped again (where systemd runs them).
if [ ${#missing[@]} -gt 0 ] && [ -d /run/systemd/system ]; then
  for svc in nginx haproxy; do
    case " ${missing[*]} " in
      *" $svc "*|*" $svc-light "*) $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true ;;
    esac
  done
fi
