#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: first it replays the committed seeds and
# regressions (tests/fuzz/corpus/<t>, tests/fuzz/regressions/<t>), then fuzzes from a temp
# copy of them, so nothing is written back into the repository. Exits non-zero if any
# target crashes, hangs (-timeout), runs out of memory (-rss_limit_mb) or reports a
# sanitizer error; the input that did it is kept in test-artifacts/fuzz/.
#
#   tests/fuzz/run_all.sh BIN_DIR [SECONDS] [TARGET...]
#   BIN_DIR: where the *_fuzz binaries are (build-fuzz/fuzz); SECONDS: per target (20).
set -uo pipefail
cd "$(dirname "$0")/../.."
bin_dir=$1
seconds=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for b in "$bin_dir"/*_fuzz; do targets+=("$(basename "$b" _fuzz)"); done
fi

artifacts=$PWD/test-artifacts/fuzz
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

dict_for() {  # target -> dictionary file, if it has one
  case $1 in
    request_parser|response_parser) echo tests/fuzz/dict/http.dict ;;
    config) echo tests/fuzz/dict/config.dict ;;
    json_type) echo tests/fuzz/dict/json.dict ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  bin=$bin_dir/${t}_fuzz
  inputs=(tests/fuzz/corpus/"$t")
  [ -d tests/fuzz/regressions/"$t" ] && inputs+=(tests/fuzz/regressions/"$t")
  log=$work/$t.log
  flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-")
  dict=$(dict_for "$t")
  [ -n "$dict" ] && flags+=(-dict="$dict")

  # 1. Replay seeds and regressions once.
  if ! "$bin" "${flags[@]}" -runs=0 "${inputs[@]}" >"$log" 2>&1; then
    echo "FAIL $t: a committed seed or regression fails"; tail -n 40 "$log"; failed+=("$t"); continue
  fi
  # 2. Fuzz from a temp copy (new inputs go to the first directory only).
  corpus=$work/corpus-$t
  mkdir -p "$corpus"
  for d in "${inputs[@]}"; do cp -r "$d"/. "$corpus"/; done
  if "$bin" "${flags[@]}" -max_total_time="$seconds" "$corpus" >"$log" 2>&1; then
    echo "ok   $t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)"
  else
    echo "FAIL $t: crash, hang or sanitizer report (input kept in $artifacts)"
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
    tail -n 30 "$log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]}"
  exit 1
fi
