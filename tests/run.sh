#!/usr/bin/env bash
# README command 2: install what the tests need, build sluice twice (normal, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), and run every test against both.
# Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh --test

# Real clients for the end-to-end tests, pinned by tests/e2e/package-lock.json.
if [ -f tests/e2e/package-lock.json ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

jobs=${JOBS:-2}
status=0
run_suite() {  # name, build dir, extra cmake args...
  local name=$1 dir=$2
  shift 2
  echo "=== $name build ($dir) ==="
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== $name tests ==="
  (cd "$dir" && SLUICE_ARTIFACTS_DIR="$PWD/../test-artifacts/$dir" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j"$jobs" ${CTEST_ARGS:-}) || status=1
}

run_suite normal build
if [ "${SLUICE_SKIP_ASAN:-0}" != 1 ]; then
  run_suite "asan+ubsan" build-asan -DSLUICE_SANITIZE=ON
fi
if [ $status -ne 0 ]; then
  echo "SOME TESTS FAILED"
else
  echo "ALL TESTS PASSED"
fi
exit $status
