#!/usr/bin/env bash
# Before/after for a change to sluice itself: S2 and S3 (one worker), runs interleaved so
# that drift on this shared machine hits both sides alike. Each side is a build dir with
# Release `sluice` and `bench/sluice-bench` (see compare.sh for how to build one).
#   bench/ab.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [RUNS=3]
# Prints the median server CPU-s per 1M deliveries of each side and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1 after=$2 runs=${3:-3}
work=$(mktemp -d /tmp/sluice-ab-XXXXXX)
for i in $(seq 1 "$runs"); do
  for side in before after; do
    dir=$before; [ "$side" = after ] && dir=$after
    python3 bench/scripts/compare.py --mode full --build-dir "$dir" --workdir "$work/$side-$i" \
      --out "$work/$side-$i.md" --only S2,S3 --servers sluice-w1 > "$work/$side-$i.log" 2>&1
    echo "$side run $i done"
  done
done
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for side in ("before", "after"):
    for i in range(1, runs + 1):
        r = json.load(open(f"{work}/{side}-{i}/results.json"))
        for s in ("s2", "s3"):
            for res in r.get(s, []):
                rows.setdefault((s, res["rate"]), {}).setdefault(side, []).append(res["cpu_per_1m"])
for (s, rate), v in sorted(rows.items()):
    b, a = statistics.median(v["before"]), statistics.median(v["after"])
    print(f"{s.upper()} rate {rate}: CPU-s per 1M before {b:.3f} after {a:.3f} ratio {a / b:.3f}")
PY
echo "raw: $work"
