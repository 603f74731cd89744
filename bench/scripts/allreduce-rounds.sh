#!/usr/bin/env bash
# Runs `gradmesh bench allreduce --workers 2,3,4 --mb 40 --transport TRANSPORTS --repeats 7` ROUNDS times into OUT
# (run-<i>.json and runs.txt, with ../shared/tools/cpu-probe before every round and at the end), then prints the
# medians (min–max) over the rounds per N and transport with summarize-allreduce-runs.mjs into OUT/summary.txt.
# TRANSPORTS defaults to `direct`; `direct,shm` alternates the links alone and pieces through shared memory
# within every round (each N runs both, one after the other, on the same ranks).
#   bash bench/scripts/allreduce-rounds.sh reports/bench-allreduce/<date>-breakdown 5
#   bash bench/scripts/allreduce-rounds.sh reports/bench-allreduce/<date>-shm 5 direct,shm
set -euo pipefail
out=${1:?usage: allreduce-rounds.sh OUT [ROUNDS]}
rounds=${2:-5}
transports=${3:-direct}
here=$(cd "$(dirname "$0")/../.." && pwd)
probe=$here/../shared/tools/cpu-probe
mkdir -p "$out"
: > "$out/runs.txt"
for i in $(seq 1 "$rounds"); do
  echo "== round $i $(date +%T) cpu-probe $("$probe" 2>/dev/null || echo unavailable)" >> "$out/runs.txt"
  node "$here/bin/gradmesh.js" bench allreduce --workers 2,3,4 --mb 40 --transport "$transports" --repeats 7 --json "$out/run-$i.json" >> "$out/runs.txt" 2>&1
done
echo "== end $(date +%T) cpu-probe $("$probe" 2>/dev/null || echo unavailable)" >> "$out/runs.txt"
node "$here/bench/scripts/summarize-allreduce-runs.mjs" "$out" | tee "$out/summary.txt"
