#!/usr/bin/env bash
# Receiver cost of one link per mode, alternating copy / place / drop, 4 rounds; each invocation once cpu-probe says >= 1.8.
cd /work/wt-gather
out=reports/bench-allreduce/2026-12-01-placement/links-receive.txt
echo "# node bench/dist/links/direct-links-bench.js 1024 1048576 3 <receive>, alternating, $(date -u +%Y-%m-%dT%H:%M)Z" > $out
for round in 1 2 3 4; do
  for m in copy place drop; do
    p=$(/work/shared/tools/cpu-probe --wait 180 1.8); ok=$?
    echo "## round $round receive=$m, cpu-probe before: $p$( [ $ok = 0 ] || echo ' (waited 180 s, still below 1.8)')" >> $out
    node bench/dist/links/direct-links-bench.js 1024 1048576 3 $m >> $out 2>&1
  done
done
echo "## done $(date -u +%H:%M:%S), cpu-probe after: $(/work/shared/tools/cpu-probe)" >> $out
