#!/usr/bin/env bash
# Runs deploy/compose.yaml for real with docker-compose: NATS (JetStream, authorization), a coordinator and two
# workers train examples/mnist-mlp.json (1 epoch, as deploy/test.sh) to >= 96 % test accuracy, from the
# images deploy/test.sh builds with podman (loaded into docker with `podman save | docker load`). The workers'
# all-reduce must go over direct links (TCP 29500 between the worker containers): every generation line of the
# coordinator's log ends "; all-reduce over direct links", and its report says so (deploy/check-direct-links.mjs).
#
# Needs root. Installs docker.io and docker-compose when missing and starts a dockerd when none answers:
# `dockerd --iptables=false --ip-forward=false --bridge=none` (no host firewall or forwarding changes, no
# default bridge; the compose network is internal) — stopped again at the end, with everything the run made
# (`down -v`). Prints SKIP and exits 0 when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=gradmesh-compose-test
IMAGE=localhost/gradmesh:0.1.0
NATS_IMAGE=localhost/gradmesh-nats:2.9.10
MIN_ACCURACY=96
skip() { echo "deploy/compose-test.sh: SKIP: $*"; exit 0; }
fail() { echo "deploy/compose-test.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $(date -u +%H:%M:%S) $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (dockerd)"
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || skip "docker.io/docker-compose are not installed and there is no apt-get"
  step "apt: docker.io docker-compose"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >/dev/null || skip "apt-get install docker.io docker-compose failed"
fi
for i in "$IMAGE" "$NATS_IMAGE"; do
  podman image exists "$i" 2>/dev/null || skip "no image $i (deploy/test.sh builds both with podman)"
done

dockerd_pid=""
work="$(mktemp -d /tmp/gradmesh-compose-test.XXXXXX)"
compose=(docker-compose -p "$PROJECT" -f deploy/compose.yaml)
cleanup() {
  set +e
  if [ -n "${compose_ready:-}" ]; then "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1; fi
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

if ! docker info >/dev/null 2>&1; then
  step "start dockerd --iptables=false --ip-forward=false --bridge=none"
  dockerd --iptables=false --ip-forward=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 "$work/dockerd.log"; skip "dockerd did not start (log above)"; }
fi

step "load $IMAGE and $NATS_IMAGE into docker"
for i in "$IMAGE" "$NATS_IMAGE"; do podman save --format docker-archive "$i" | docker load -q >/dev/null; done

export GRADMESH_IMAGE="$IMAGE" GRADMESH_NATS_IMAGE="$NATS_IMAGE" GRADMESH_EPOCHS=1
docker run --rm --network none "$IMAGE" coordinator --help > "$work/coordinator.txt" 2>&1 || true
docker run --rm --network none "$IMAGE" worker --help > "$work/worker.txt" 2>&1 || true
if ! grep -q GRADMESH_NATS_URL "$work/coordinator.txt"; then
  # The same fallback as deploy/test.sh: an image without GRADMESH_* flag variables gets them as flags.
  echo "this image predates GRADMESH_* flag variables: each is also passed as its flag where the image has it"
  "${compose[@]}" config > "$work/config.yaml"
  node deploy/podman/compose-env-as-flags.mjs "$work/config.yaml" "$work" > "$work/override.yaml"
  compose+=(-f "$work/override.yaml")
fi

compose_ready=1
step "docker-compose up (project $PROJECT)"
"${compose[@]}" up -d 2>&1 | grep -v '^$' | sed 's/^/  /'
coord="$("${compose[@]}" ps -q coordinator)"
[ -n "$coord" ] || fail "no coordinator container"
# Isolation: the network is internal.
if docker exec "$("${compose[@]}" ps -q worker-0)" node -e 'fetch("http://deb.debian.org/").then(() => process.exit(0), () => process.exit(1))' 2>/dev/null; then
  fail "a container reached deb.debian.org: the network is not internal"
fi
echo "isolation: worker-0 cannot reach deb.debian.org"
step "wait for the coordinator"
# `docker wait` returns at the first exit; with restart: on-failure a failed start is retried, so wait for
# the state `exited` (a success, or a failure the policy gave up on).
deadline=$((SECONDS + 900))
until [ "$(docker inspect -f '{{.State.Status}}' "$coord")" = exited ] || [ $SECONDS -ge $deadline ]; do sleep 2; done
code="$(docker inspect -f '{{.State.ExitCode}} (restarted {{.RestartCount}} times)' "$coord")"
echo "coordinator exited: $code"
code="${code%% *}"
{ docker logs "$coord" 2>&1 | grep -E 'generation [0-9]+ \(|test accuracy' || true; } | sed 's/^/  coordinator: /'
[ "$code" = 0 ] || { "${compose[@]}" logs --tail 10 2>&1 | tail -n 60; fail "the coordinator ended with $code"; }
accuracy="$(docker logs "$coord" 2>&1 | grep -Eo 'test accuracy [0-9.]+' | tail -n1 | awk '{ print $3 }')"
[ -n "$accuracy" ] || fail "no test accuracy in the coordinator's log"
awk -v a="$accuracy" -v m="$MIN_ACCURACY" 'BEGIN { exit !(a >= m) }' || fail "test accuracy $accuracy % < $MIN_ACCURACY %"
# Note [direct links, checked] in deploy/test.sh: the route is checked, not assumed.
direct="$(docker logs "$coord" 2>&1 | grep -Ec 'generation [0-9]+ .*all-reduce over direct links' || true)"
other="$(docker logs "$coord" 2>&1 | grep -E 'generation [0-9]+ \(' | grep -vc 'all-reduce over direct links' || true)"
[ "$direct" -gt 0 ] && [ "$other" = 0 ] || fail "$other of the coordinator's generations did not run their all-reduce over direct links ($direct did)"
docker cp "$coord:/var/lib/gradmesh/report.json" "$work/report.json" >/dev/null || fail "cannot copy the coordinator's report out of its container"
node deploy/check-direct-links.mjs "$work/report.json" || fail "the report does not show an all-reduce over direct links (above)"
"${compose[@]}" ps 2>/dev/null | sed 's/^/  /'
echo "deploy/compose-test.sh: PASS: test accuracy $accuracy % (>= $MIN_ACCURACY %), all-reduce over direct links, with docker-compose $(docker-compose version --short)"
