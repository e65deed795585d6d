#!/usr/bin/env bash
# README command 2: install what the tests need, build sluice twice — normal (gcc), and
# with clang + AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer's coverage
# instrumentation — and run every test against both; then run each libFuzzer target, built
# in the second tree, for a bounded time.
# Exits non-zero if any test fails or any fuzz target crashes.
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

# One clang tree serves the sanitizer tests and the fuzz targets: SLUICE_FUZZ gives every
# library ASan+UBSan plus the coverage hooks libFuzzer steers by (the test binaries link the
# sanitizers only), so the project is compiled twice, not three times (a third build was a
# quarter of CI's time). tests/fuzz/README.md has the details.
fuzz_seconds=${SLUICE_FUZZ_SECONDS:-10}
if [ "${SLUICE_SKIP_ASAN:-0}" != 1 ]; then
  run_suite "asan+ubsan+fuzz (clang)" build-asan -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
  # --- Fuzzing (libFuzzer, clang 14): ctest above replayed the committed seeds and
  # regressions (label fuzz); now each target fuzzes for SLUICE_FUZZ_SECONDS (default 10;
  # 0 skips). A crash, hang or sanitizer report fails the run.
  if [ "$fuzz_seconds" != 0 ]; then
    echo "=== fuzz runs (${fuzz_seconds}s per target) ==="
    tests/fuzz/run_all.sh build-asan/fuzz "$fuzz_seconds" || status=1
  fi
fi

if [ $status -ne 0 ]; then
  echo "SOME TESTS FAILED"
else
  echo "ALL TESTS PASSED"
fi
exit $status
