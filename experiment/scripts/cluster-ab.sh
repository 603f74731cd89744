#!/usr/bin/env bash
# Two builds or two settings of `gradmesh launch` against each other on one machine: `gradmesh bench cluster`
# run alternately (ABAB…) so that the machine's swings hit both, then medians per side.
#
#   bash experiment/scripts/cluster-ab.sh <out-dir> <A> <B> [rounds=3] [bench cluster options…]
#
# <A>, <B>: a directory  — another built checkout of gradmesh (e.g. `git worktree add /tmp/base <rev>`, then
#                          `npm install && npm run build` there); its bin/gradmesh.js runs the bench
#           env:NAME=VALUE — this checkout with that variable set (e.g. env:GRADMESH_NATIVE_BULK=off)
#           .              — this checkout as it is
# bench cluster options default to the documented command's: --config examples/mnist-cnn.json --steps 150
# --warmup 20 --repeats 3. Writes <out-dir>/ab.txt (every round's output, with cpu-probe's reading before it when
# ../shared/tools/cpu-probe exists), <out-dir>/bench-cluster-<A|B>-<round>.json and <out-dir>/summary.md: per side
# the per-round values and medians of launch ÷ train, launch ÷ independent, samples/s, launch's CPU ms per step
# and its workers' main threads'.
set -euo pipefail
usage="usage: cluster-ab.sh <out-dir> <A: dir | env:NAME=VALUE | .> <B: …> [rounds=3] [bench cluster options…]"
out=${1:?$usage}
a=${2:?$usage}
b=${3:?$usage}
rounds=${4:-3}
shift $(($# < 4 ? $# : 4))
root=$(cd "$(dirname "$0")/../.." && pwd)
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--config examples/mnist-cnn.json --steps 150 --warmup 20 --repeats 3)
case "$rounds" in '' | *[!0-9]* | 0) echo "cluster-ab.sh: rounds must be a whole number ≥ 1 (got '$rounds')" >&2; exit 2 ;; esac

# Where a side runs and with which environment.
side_dir() { case "$1" in env:* | .) echo "$root" ;; *) (cd "$1" 2>/dev/null && pwd) || { echo "cluster-ab.sh: $1 is not a directory (a checkout), env:NAME=VALUE or ." >&2; exit 2; } ;; esac; }
# A side without env: still gets one variable (a marker nothing reads), so `env "$(side_env …)"` has an argument.
side_env() { case "$1" in env:*=*) echo "${1#env:}" ;; env:*) echo "cluster-ab.sh: '$1' must be env:NAME=VALUE" >&2; exit 2 ;; *) echo "GRADMESH_CLUSTER_AB=1" ;; esac; }
for side in "$a" "$b"; do
  dir=$(side_dir "$side")
  side_env "$side" >/dev/null
  [ -f "$dir/bin/gradmesh.js" ] || { echo "cluster-ab.sh: $dir has no bin/gradmesh.js (not a gradmesh checkout)" >&2; exit 2; }
  [ -d "$dir/cli/dist" ] || { echo "cluster-ab.sh: $dir is not built (run npm install && npm run build there)" >&2; exit 2; }
done

probe="$root/../shared/tools/cpu-probe"
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/ab.txt"
for r in $(seq 1 "$rounds"); do
  for label in A B; do
    side=$a
    [ "$label" = B ] && side=$b
    dir=$(side_dir "$side")
    load=""
    [ -x "$probe" ] && load=" probe $("$probe")"
    echo "=== round $r $label ($side) $(date +%T)$load" | tee -a "$out/ab.txt"
    (cd "$dir" && env "$(side_env "$side")" node bin/gradmesh.js bench cluster "${extra[@]}" --json "$out/bench-cluster-$label-$r.json") 2>&1 | tee -a "$out/ab.txt" | grep -E '^launch ÷' || true
  done
done

node - "$out" "$rounds" "$a" "$b" <<'EOF'
const fs = require('fs');
const [out, rounds, a, b] = process.argv.slice(2);
const median = (v) => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const sum = (o) => Object.values(o ?? {}).reduce((x, y) => x + y, 0);
const rows = [
  ['launch ÷ train', (j) => j.ratio, 3],
  ['launch ÷ independent', (j) => j.launchOverIndependent, 3],
  ['launch samples/s', (j) => j.launchSamplesPerSec, 0],
  ['train samples/s', (j) => j.trainSamplesPerSec, 0],
  ['launch CPU ms per step', (j) => (j.cpuMsPerStep ? sum(j.cpuMsPerStep.launch) : undefined), 1],
  ["workers' main threads, CPU ms per step", (j) => j.mainThreadCpuMsPerStep?.launch?.worker, 1],
];
const runs = { A: [], B: [] };
for (const label of ['A', 'B']) for (let r = 1; r <= Number(rounds); r++) runs[label].push(JSON.parse(fs.readFileSync(`${out}/bench-cluster-${label}-${r}.json`, 'utf8')));
const lines = [`# bench cluster, A = ${a}, B = ${b}, ${rounds} rounds alternating`, '', '| per round | A | B | median A → B |', '|---|---|---|---|'];
for (const [name, get, digits] of rows) {
  const va = runs.A.map(get), vb = runs.B.map(get);
  if ([...va, ...vb].some((v) => typeof v !== 'number')) continue;
  const f = (v) => v.toFixed(digits);
  lines.push(`| ${name} | ${va.map(f).join(' / ')} | ${vb.map(f).join(' / ')} | ${f(median(va))} → ${f(median(vb))} |`);
}
fs.writeFileSync(`${out}/summary.md`, lines.join('\n') + '\n');
console.log(lines.join('\n'));
EOF
