#!/usr/bin/env bash
# Prints the Secrets gradmesh-nats-auth and gradmesh-nats-worker-auth for an overlay: the run's NATS identities from `gradmesh auth init`,
# for the run id and MAX worker ids the overlay renders (GRADMESH_RUN, GRADMESH_WORKERS of the ConfigMap
# gradmesh-run; workers are the Indexed Job's pods gradmesh-worker-0 … MAX-1). Apply it before the overlay:
#
#   deploy/k8s/auth-secret.sh deploy/k8s/overlays/dev | kubectl apply -f -
#   kubectl apply -k deploy/k8s/overlays/dev
#
# The seeds exist only in a temporary directory (removed) and in the Secret; nothing is written to the tree.
# GRADMESH (default: this checkout's bin/gradmesh.js, else `gradmesh` on PATH) runs `auth init`, e.g.
#   GRADMESH="podman run --rm -v /tmp:/tmp localhost/gradmesh:0.1.0" deploy/k8s/auth-secret.sh …
set -euo pipefail
overlay="${1:?usage: auth-secret.sh <overlay-dir>}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${GRADMESH:-}" ]; then
  if [ -f "$here/../../cli/dist/main.js" ]; then GRADMESH="node $here/../../bin/gradmesh.js"; else GRADMESH=gradmesh; fi
fi

rendered="$(kubectl kustomize "$overlay")"
# The two literals of the ConfigMap gradmesh-run (env entries elsewhere are `name: GRADMESH_RUN`, not keys).
value() { printf '%s\n' "$rendered" | awk -v k="  $1:" 'index($0, k) == 1 { sub(/^[^:]*: */, ""); gsub(/"/, ""); print; exit }'; }
run="$(value GRADMESH_RUN)"
workers="$(value GRADMESH_WORKERS)"
[ -n "$run" ] && [ -n "$workers" ] || { echo "auth-secret.sh: $overlay renders no ConfigMap gradmesh-run with GRADMESH_RUN and GRADMESH_WORKERS" >&2; exit 2; }
max="${workers#*:}"
ids="$(seq -s, -f 'gradmesh-worker-%.0f' 0 $((max - 1)))"

dir="$(mktemp -d /tmp/gradmesh-auth.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
chmod 0777 "$dir"   # a containerized GRADMESH runs as uid 10001
$GRADMESH auth init --run "$run" --workers "$max" --worker-ids "$ids" --out "$dir/auth" >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
# Two Secrets, so that a worker pod holds worker seeds only: gradmesh-nats-auth (authorization.conf, the
# coordinator's and the status seed) and gradmesh-nats-worker-auth (worker-<pod>.nk for every worker pod).
mkdir "$dir/workers"
mv "$dir"/auth/worker-*.nk "$dir/workers/"
kubectl create secret generic gradmesh-nats-auth --from-file="$dir/auth" --dry-run=client -o yaml \
  | grep -v '^  creationTimestamp: null$'
echo ---
kubectl create secret generic gradmesh-nats-worker-auth --from-file="$dir/workers" --dry-run=client -o yaml \
  | grep -v '^  creationTimestamp: null$'
