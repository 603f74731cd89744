#!/usr/bin/env bash
# Overlap on vs off, alternating, on emulated links (kept for the commands in README and reports):
#   bash experiment/scripts/overlap-ab.sh <out-dir> [config=examples/mnist-cnn.json] [rounds=3] [workers=2] [topologies=per-host,hub] [link=1gbit]
# = bash experiment/scripts/ab.sh overlap … (see there).
exec bash "$(dirname "$0")/ab.sh" overlap "$@"
