#!/usr/bin/env bash
# gradmesh quick start: installs everything on a fresh Debian machine with Node 20 and trains the
# MNIST CNN, printing progress and the final test accuracy. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "gradmesh needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 2
fi

# nats-server runs the multi-process cluster (gradmesh launch); single-process training does not need it.
if ! command -v nats-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing nats-server (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi

# OpenBLAS and a C compiler build the native backend's addon (--backend native); without them it falls back to pool.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] || ! command -v cc >/dev/null 2>&1; }; then
  echo "== installing OpenBLAS and a C compiler (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev build-essential >/dev/null
fi

echo "== installing npm dependencies"
# (npm install, not npm ci: see the note in .ci/run)
npm install --no-audit --no-fund
echo "== building (WebAssembly kernels, native addon, TypeScript)"
npm run build
echo "== training examples/mnist-cnn.json on real MNIST (report: reports/mnist-cnn.json)"
node bin/gradmesh.js train --config examples/mnist-cnn.json --report reports/mnist-cnn.json
