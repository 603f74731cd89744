#!/usr/bin/env bash
# Supplementary A/B: N = 3, 4 only, 15 repeats per run, alternating, each run started once cpu-probe says >= 1.8.
cd /work/wt-gather
out=reports/bench-allreduce/2026-12-01-placement/repeats15
mkdir -p $out
i=0
for v in on off off on on off off on; do
  i=$((i+1))
  p=$(/work/shared/tools/cpu-probe --wait 180 1.8); ok=$?
  echo "$(date -u +%H:%M:%S) run $i placement=$v, probe before: $p$( [ $ok = 0 ] || echo ' (waited 180 s, still below 1.8)')" >> $out/probes.txt
  if [ $v = off ]; then export GRADMESH_LINK_PLACEMENT=off; else unset GRADMESH_LINK_PLACEMENT; fi
  node bin/gradmesh.js bench allreduce --workers 3,4 --mb 40 --transport direct --repeats 15 > $out/run$i-placement-$v.txt 2>&1
  unset GRADMESH_LINK_PLACEMENT
  echo "$(date -u +%H:%M:%S) run $i placement=$v, probe after: $(/work/shared/tools/cpu-probe)" >> $out/probes.txt
done
echo "$(date -u +%H:%M:%S) done" >> $out/probes.txt
