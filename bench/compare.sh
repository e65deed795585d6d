#!/usr/bin/env bash
# bench/compare.sh [--quick] [--only floor,S1,...] [--out FILE]: sluice against Nchan,
# Pushpin and an h3 (Nuxt/Nitro) server on this machine, and against bench/floor's physical
# limit; writes bench/RESULTS.md. Installs the peers when missing (apt: nginx,
# libnginx-mod-nchan, pushpin, redis-server; npm: bench/peers/h3), builds sluice,
# sluice-bench and sluice-floor in Release into build-bench/, then runs
# bench/scripts/compare.py. Full mode takes about 15-20 minutes, --quick about 5.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
mode=full
only=""
out="$here/RESULTS.md"
build="${SLUICE_BENCH_BUILD:-$root/build-bench}"
workdir="${SLUICE_BENCH_WORKDIR:-/tmp/sluice-compare-$(date +%Y%m%d-%H%M%S)}"
cmdline="bench/compare.sh $*"

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) mode=quick ;;
        --full) mode=full ;;
        --only) only="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "[compare.sh] $*"; }

# --- peers -------------------------------------------------------------------------------
missing=()
for pkg in nginx libnginx-mod-nchan pushpin redis-server; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages' own services are not started here (no init system); compare.py starts
    # its own instances on unusual ports.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for bin in nginx pushpin condure zurl redis-server node npm python3 cmake; do
    command -v "$bin" >/dev/null || { echo "compare.sh: $bin not found" >&2; exit 1; }
done
if [ ! -d "$here/peers/h3/node_modules/h3" ] || [ ! -d "$here/peers/h3/node_modules/ioredis" ]; then
    log "npm ci in bench/peers/h3"
    (cd "$here/peers/h3" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- build -------------------------------------------------------------------------------
# Warnings are not errors here: GCC 12 at -O3 reports false positives (-Wrestrict) that the
# Debug and sanitizer builds, where -Werror is enforced, do not.
log "building into $build"
mkdir -p "$build"
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF \
        -DSLUICE_WERROR=OFF && make -C "$build" -j2 sluice sluice-bench sluice-floor; } \
        >"$build/compare-build.log" 2>&1; then
    tail -30 "$build/compare-build.log" >&2
    echo "compare.sh: build failed (log: $build/compare-build.log)" >&2
    exit 1
fi

# --- run ---------------------------------------------------------------------------------
log "mode $mode, work directory $workdir"
exec python3 "$here/scripts/compare.py" --mode "$mode" --build-dir "$build" \
    --workdir "$workdir" --out "$out" --only "$only" --command-line "$cmdline"
