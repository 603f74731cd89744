#!/usr/bin/env bash
# One setting on vs off, measured in one run: `gradmesh experiment scaling` of a config with the setting on and
# off, alternating (ABAB…) so that load swings hit both, on emulated links.
#
#   bash experiment/scripts/ab.sh <setting> <out-dir> [config=examples/mnist-cnn.json] [rounds=3] [workers=2] [topologies=per-host,hub] [link=1gbit]
#
# <setting>: overlap     training.allreduce.overlap true / false (gradient buckets overlapped with backward)
#            step-ahead  GRADMESH_STEP_AHEAD unset / off (the coordinator sends each step's successor ahead)
#            transport   training.allreduce.transport direct / nats (pieces over direct links / through nats-server)
#            encryption  training.allreduce.linkEncryption tls / none (direct links inside TLS / in the clear)
#            early-step  GRADMESH_EARLY_STEP unset / off (the next step is handed to the pool during the update)
#            as-reduced  GRADMESH_UPDATE_AS_REDUCED unset / off (each bucket updated as its sums arrive, the first
#                        layers' sums first, the next step handed out at the first part)
# Writes <out-dir>/{on,off}.json (the configs run), <out-dir>/<on|off>-<round>/results.{json,md} and
# <out-dir>/summary.md: per topology, the medians over rounds (min–max) of samples/s, step, compute, all-reduce,
# exposed all-reduce, wait, overlap = 1 − exposed ÷ all-reduce, and step ÷ max(compute, all-reduce).
set -euo pipefail
setting=${1:?usage: ab.sh <overlap|step-ahead|transport|encryption|early-step|as-reduced> <out-dir> [config] [rounds] [workers] [topologies] [link]}
out=${2:?usage: ab.sh <overlap|step-ahead|transport|encryption|early-step|as-reduced> <out-dir> [config] [rounds] [workers] [topologies] [link]}
config=${3:-examples/mnist-cnn.json}
rounds=${4:-3}
workers=${5:-2}
topologies=${6:-per-host,hub}
link=${7:-1gbit}
case "$setting" in overlap|step-ahead|transport|encryption|early-step|as-reduced) ;; *) echo "ab.sh: unknown setting '$setting' (overlap, step-ahead, transport, encryption, early-step or as-reduced)" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
node -e '
const fs = require("fs");
const path = require("path");
const [setting, config, out] = process.argv.slice(1);
const base = JSON.parse(fs.readFileSync(config, "utf8"));
delete base.$schema;
const dir = path.dirname(path.resolve(config));
if (typeof base.dataset === "object" && base.dataset !== null) for (const k of ["train", "test"]) if (typeof base.dataset[k] === "string") base.dataset[k] = path.resolve(dir, base.dataset[k]);
for (const on of [true, false]) {
  const c = JSON.parse(JSON.stringify(base));
  if (setting === "overlap") c.training = { ...c.training, allreduce: { ...(c.training?.allreduce ?? {}), overlap: on } };
  if (setting === "transport") c.training = { ...c.training, allreduce: { ...(c.training?.allreduce ?? {}), transport: on ? "direct" : "nats" } };
  if (setting === "encryption") c.training = { ...c.training, allreduce: { ...(c.training?.allreduce ?? {}), linkEncryption: on ? "tls" : "none" } };
  fs.writeFileSync(`${out}/${on ? "on" : "off"}.json`, JSON.stringify(c, null, 2) + "\n");
}' "$setting" "$config" "$out"
"$root/../shared/tools/cpu-probe" 2>/dev/null | tail -1 > "$out/load-before.json" || true
for round in $(seq 1 "$rounds"); do
  for mode in on off; do
    ahead=on
    [ "$setting" = step-ahead ] && ahead=$mode
    early=on
    [ "$setting" = early-step ] && early=$mode
    asreduced=on
    [ "$setting" = as-reduced ] && asreduced=$mode
    GRADMESH_UPDATE_AS_REDUCED=$asreduced GRADMESH_EARLY_STEP=$early GRADMESH_STEP_AHEAD=$ahead node "$root/bin/gradmesh.js" experiment scaling --config "$out/$mode.json" --workers "$workers" --topology "$topologies" \
      --link "$link" --steps 100 --warmup 10 --out "$out/$mode-$round" 2>&1 | grep -E 'samples/s;' | sed "s/^/[$setting $mode $round] /"
  done
done
"$root/../shared/tools/cpu-probe" 2>/dev/null | tail -1 > "$out/load-after.json" || true
node -e '
const fs = require("fs");
const [setting, out, rounds] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs, d = 1, k = 1) => `${(med(xs) * k).toFixed(d)} (${(Math.min(...xs) * k).toFixed(d)}–${(Math.max(...xs) * k).toFixed(d)})`;
const rows = [];
for (const mode of ["on", "off"]) {
  const runs = [];
  for (let r = 1; r <= rounds; r++) runs.push(...JSON.parse(fs.readFileSync(`${out}/${mode}-${r}/results.json`, "utf8")).runs);
  for (const topology of [...new Set(runs.map((r) => r.topology))]) {
    const rs = runs.filter((r) => r.topology === topology);
    const ar = rs.map((r) => r.allreduceSeconds.median), ex = rs.map((r) => (r.exposedAllreduceSeconds ?? r.allreduceSeconds).median);
    const step = rs.map((r) => r.stepSeconds.median), compute = rs.map((r) => r.computeSeconds.median), wait = rs.map((r) => r.waitSeconds.median);
    rows.push(`| ${topology} | ${mode} | ${fmt(rs.map((r) => r.samplesPerSec), 0)} | ${fmt(step, 1, 1000)} | ${fmt(compute, 1, 1000)} | ${fmt(ar, 1, 1000)} | ${fmt(ex, 1, 1000)} | ${fmt(wait, 1, 1000)} | ${fmt(ar.map((a, i) => 1 - ex[i] / a), 2)} | ${fmt(step.map((s, i) => s / Math.max(compute[i], ar[i])), 2)} |`);
  }
}
const load = ["before", "after"].map((w) => { try { return `${w} ${JSON.parse(fs.readFileSync(`${out}/load-${w}.json`, "utf8")).parallelCapacity}`; } catch { return `${w} ?`; } }).join(", ");
const md = [`${setting} on vs off, ${rounds} alternating rounds, medians over rounds (min–max); times in ms per step; cpu-probe parallel capacity ${load}.`, "",
  `| topology | ${setting} | samples/s | step | compute | all-reduce | exposed | wait | hidden = 1 − exposed ÷ all-reduce | step ÷ max(compute, all-reduce) |`,
  "|---|---|---|---|---|---|---|---|---|---|", ...rows, ""].join("\n");
fs.writeFileSync(`${out}/summary.md`, md);
process.stdout.write(md);' "$setting" "$out" "$rounds"
