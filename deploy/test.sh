#!/usr/bin/env bash
# Runs deploy/k8s for real with `podman kube play`, from the image deploy/Dockerfile builds: NATS with
# JetStream and authorization, a coordinator and 2 workers train examples/mnist-mlp.json (1 epoch, the overlay
# deploy/k8s/overlays/local) to >= 96 % test accuracy; worker gradmesh-worker-1 is removed mid-run and started
# again, rejoins, and the run completes. The workers' all-reduce must go over direct links (the default transport):
# every generation line of the coordinator's log ends "; all-reduce over direct links", and so does every
# generation event of its report (deploy/check-direct-links.mjs), the one gradmesh-worker-1 rejoins included.
#
# podman 4.3 plays Pods, ConfigMaps and Secrets but not StatefulSets, Jobs or Services, so the rendered
# overlay goes through deploy/podman/pods-from-manifests.mjs (one Pod per pod the workloads would create,
# named so that pod DNS names stand in for the Services). The pods sit on an internal podman network: they
# reach each other and nothing outside. Everything this script creates (pods, network, volumes) is removed at
# the end, whatever happens. (The Secret goes in as a ConfigMap: Note [Secrets as ConfigMaps] in the converter;
# no podman secret is created.)
#
# Needs root (rootful podman), kubectl (kustomize), node and this repository built (`npm run build`, for
# `gradmesh auth init`). Installs podman and runc when root and missing; prints SKIP and exits 0 when it
# cannot run. Takes ~3 minutes with the images built (the first image build takes ~5 more).
#   REBUILD=1 deploy/test.sh      rebuilds the images first
#   LINK_ENCRYPTION=tls deploy/test.sh   the same run with training.allreduce.linkEncryption "tls" (a copy of
#                                 deploy/k8s with that run.json): every generation must run over encrypted links
set -euo pipefail
cd "$(dirname "$0")/.."

NET=gradmesh-deploy-test
OVERLAY=deploy/k8s/overlays/local
# The images overlays/local names.
IMAGE=localhost/gradmesh:0.1.0
NATS_IMAGE=localhost/gradmesh-nats:2.9.10
MIN_ACCURACY=96
skip() { echo "deploy/test.sh: SKIP: $*"; exit 0; }
fail() { echo "deploy/test.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $(date -u +%H:%M:%S) $*"; }

# ---- preconditions -------------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (rootful podman with an internal network)"
command -v kubectl >/dev/null 2>&1 || skip "kubectl is not installed (kubectl kustomize renders the overlay)"
[ -f cli/dist/main.js ] || skip "the repository is not built (npm run build): auth-secret.sh runs gradmesh auth init"
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || skip "podman is not installed and there is no apt-get"
  step "apt: podman runc"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null || skip "apt-get install podman runc failed"
fi
# Note [podman on these machines]: crun fails on this kernel's hybrid cgroups, and the default ulimits are
# too low for Node; a containers.conf we did not write is left alone and only checked.
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' > "$conf"
  echo "wrote $conf (runtime runc, ulimits nofile=20000 nproc=32768)"
fi
grep -q '^runtime *= *"runc"' "$conf" || echo "deploy/test.sh: warning: $conf does not set runtime = \"runc\" (crun fails on hybrid cgroups)"

# ---- images --------------------------------------------------------------------------------------------------
if [ "${REBUILD:-0}" = 1 ] || ! podman image exists "$IMAGE"; then
  step "build $IMAGE"
  bash deploy/build-image.sh "$IMAGE" > /tmp/gradmesh-deploy-build.log 2>&1 || { tail -n 30 /tmp/gradmesh-deploy-build.log; fail "image build failed (log: /tmp/gradmesh-deploy-build.log)"; }
fi
if [ "${REBUILD:-0}" = 1 ] || ! podman image exists "$NATS_IMAGE"; then
  command -v nats-server >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  step "build $NATS_IMAGE"
  ENGINE=podman bash deploy/nats-image/build.sh "" "$NATS_IMAGE" >/dev/null 2>&1 || fail "NATS image build failed"
fi
echo "image $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# ---- render --------------------------------------------------------------------------------------------------
work="$(mktemp -d /tmp/gradmesh-deploy-test.XXXXXX)"
pods=() volumes=()
cleanup() {
  set +e
  for p in "${pods[@]}"; do podman pod rm -f -t 5 "$p" >/dev/null 2>&1; done
  for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1; done
  podman network rm -f "$NET" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

route='all-reduce over direct links'
check_args=()
if [ "${LINK_ENCRYPTION:-none}" = tls ]; then
  # Note [encrypted links]: the same manifests, with the run's links inside TLS.
  cp -r deploy/k8s "$work/k8s"
  node -e 'const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.training = { ...c.training, allreduce: { ...(c.training.allreduce ?? {}), linkEncryption: "tls" } };
    fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");' "$work/k8s/base/run.json"
  OVERLAY="$work/k8s/overlays/local"
  route='all-reduce over direct links (TLS)'
  check_args=(--encrypted)
elif [ "${LINK_ENCRYPTION:-none}" != none ]; then
  fail "LINK_ENCRYPTION must be none or tls (got '$LINK_ENCRYPTION')"
fi
step "render $OVERLAY and its Secret (gradmesh auth init)"
{ kubectl kustomize "$OVERLAY"; echo ---; bash deploy/k8s/auth-secret.sh "$OVERLAY"; } > "$work/rendered.yaml"
mkdir -p "$work/help" "$work/pods"
podman run --rm --network none "$IMAGE" coordinator --help > "$work/help/coordinator.txt" 2>&1 || true
podman run --rm --network none "$IMAGE" worker --help > "$work/help/worker.txt" 2>&1 || true
convert=(node deploy/podman/pods-from-manifests.mjs "$work/rendered.yaml" "$work/pods")
if grep -q GRADMESH_NATS_URL "$work/help/coordinator.txt"; then
  echo "the image reads its flags from GRADMESH_* variables: the manifests' env runs as written"
else
  echo "this image predates GRADMESH_* flag variables: each is also passed as its flag where the image has it"
  convert+=(--env-as-flags "$work/help")
fi
"${convert[@]}" > "$work/out.txt"
grep -v '^volumes ' "$work/out.txt" > "$work/pods.txt"
cat "$work/pods.txt"
# podman 4.3 makes a named volume per ConfigMap (and per Secret, here carried as a ConfigMap) and reuses an
# existing one as it is: remove leftovers first, and these at the end.
read -r -a volumes <<< "$(sed -n 's/^volumes //p' "$work/out.txt")"

# ---- play ----------------------------------------------------------------------------------------------------
# Leftovers of an interrupted earlier run have the same names.
while read -r name _ claims; do podman pod rm -f "$name" >/dev/null 2>&1 || true; for c in $claims; do podman volume rm -f "$c" >/dev/null 2>&1 || true; done; done < "$work/pods.txt"
for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
podman network rm -f "$NET" >/dev/null 2>&1 || true

step "network $NET (internal: no route out)"
podman network create --internal "$NET" >/dev/null
play() {
  podman kube play --network "$NET" "$work/pods/pod-$1.yaml" >/dev/null
}
while read -r name owner claims; do
  for c in $claims; do volumes+=("$c"); done
  pods+=("$name")
done < "$work/pods.txt"

step "play gradmesh-nats, gradmesh-coordinator, gradmesh-worker-0, gradmesh-worker-1"
for p in gradmesh-nats gradmesh-coordinator gradmesh-worker-0 gradmesh-worker-1; do play "$p"; done

coord=gradmesh-coordinator-coordinator
wait_log() { # wait_log <container> <regex> <seconds>
  local deadline=$((SECONDS + $3))
  until podman logs "$1" 2>&1 | grep -Eq "$2"; do
    [ $SECONDS -lt $deadline ] || { podman logs --tail 30 "$1" 2>&1 | sed 's/^/  | /'; fail "no '$2' in $1's log within $3 s"; }
    sleep 0.2
  done
}

wait_log "$coord" 'generation 1 ' 180
podman logs "$coord" 2>&1 | grep -E 'generation 1 ' | tail -n1 | sed 's/^/  coordinator: /'
# Note [direct links, checked]: gradient pieces go worker to worker over TCP 29500 (training.allreduce.transport
# "direct", the default); a run through NATS would train just as well, so the route is checked, not assumed.
direct_links() { # direct_links <generation regex>: that generation's log line names the direct route
  podman logs "$coord" 2>&1 | grep -E "generation $1 " | tail -n1 | grep -qF "$route" \
    || fail "generation $1 did not run its $route (coordinator: '$(podman logs "$coord" 2>&1 | grep -E "generation $1 " | tail -n1)')"
}
direct_links 1
# One epoch of the MLP (844 steps) takes ~3 s here over direct links (~10 s through NATS): remove the worker once
# the run has taken 100 steps (worker-0's /readyz names its step; read from inside the pod every 20 ms), well
# before it ends — the run then stalls until the coordinator counts the worker lost, so it cannot finish first —
# and late enough that the rejoining worker needs a live replica's state. The isolation and probe checks come
# after the rejoin, while the run goes on.
has_probes=0
grep -q -- '--health-port' "$work/help/worker.txt" && has_probes=1
if [ $has_probes = 1 ]; then
  at="$(podman exec gradmesh-worker-0-worker node -e '
    const deadline = Date.now() + 60000;
    (async function poll() {
      for (;;) {
        const body = await fetch("http://127.0.0.1:8081/readyz").then((r) => r.text(), () => "");
        const step = Number(/step (\d+)/.exec(body)?.[1] ?? -1);
        if (step >= 100 || Date.now() > deadline) return console.log(step);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();' 2>/dev/null || true)"
  [ "${at:--1}" -ge 100 ] 2>/dev/null || fail "gradmesh-worker-0 did not reach step 100 within 60 s (/readyz: step '${at}')"
  echo "gradmesh-worker-0 is at step $at"
else
  sleep 2
fi
step "remove pod gradmesh-worker-1 mid-run"
podman pod rm -f -t 0 gradmesh-worker-1 >/dev/null
wait_log "$coord" 'worker gradmesh-worker-1 .*is lost' 60
podman logs "$coord" 2>&1 | grep -E 'gradmesh-worker-1 .*is lost' | tail -n1 | sed 's/^/  coordinator: /'
# While the run waits for its second worker, gradmesh-worker-0 is certainly alive: check the isolation the
# network promises (a pod reaches nothing outside) and its liveness probe. The exec must print its verdict, so a
# container that is gone cannot pass for an isolated one.
isolation="$(podman exec gradmesh-worker-0-worker node -e 'fetch("http://deb.debian.org/", { signal: AbortSignal.timeout(10000) }).then(() => console.log("reached"), () => console.log("unreachable"))' 2>/dev/null || true)"
[ "$isolation" = unreachable ] || fail "isolation check: a pod reached deb.debian.org, or the check did not run (got '$isolation')"
echo "isolation: a worker pod cannot reach deb.debian.org"
health_ok() { # health_ok <path>: the worker-0 container answers 200 on the health port
  [ "$(podman exec gradmesh-worker-0-worker node -e "fetch('http://127.0.0.1:8081/$1').then((r) => console.log(r.status), () => console.log('none'))" 2>/dev/null || true)" = 200 ]
}
if [ $has_probes = 1 ]; then health_ok healthz || fail "gradmesh-worker-0 does not answer /healthz"; fi
# The rest of the epoch takes ~2 s once the new generation forms: /readyz is watched from inside worker-0 from
# before the rejoin (every 50 ms, until it answers 200 for a generation after the first), not asked afterwards.
if [ $has_probes = 1 ]; then
  podman exec gradmesh-worker-0-worker node -e '
    const deadline = Date.now() + 120000;
    (async function poll() {
      for (;;) {
        const body = await fetch("http://127.0.0.1:8081/readyz").then(async (r) => (r.status === 200 ? await r.text() : ""), () => "");
        if (/generation ([2-9]|[1-9][0-9]+),/.test(body)) return console.log(`ready ${body.trim()}`);
        if (Date.now() > deadline) return console.log("not ready");
        await new Promise((r) => setTimeout(r, 50));
      }
    })();' > "$work/readyz.txt" 2>&1 &
  readyz_watch=$!
fi
sleep 1
step "play gradmesh-worker-1 again"
play gradmesh-worker-1
wait_log "$coord" 'sends its state .* to .*gradmesh-worker-1' 120
podman logs "$coord" 2>&1 | grep -E 'generation [0-9]+ |sends its state' | tail -n2 | sed 's/^/  coordinator: /'
rejoined_in="$(podman logs "$coord" 2>&1 | awk 'match($0, /generation [0-9]+ \(/) && /= gradmesh-worker-1 \(/ { n = substr($0, RSTART + 11, RLENGTH - 13) } END { print n }')"
[ -n "$rejoined_in" ] && [ "$rejoined_in" -gt 1 ] || fail "gradmesh-worker-1 is in no generation after generation 1 with a link address"
direct_links "$rejoined_in"
echo "direct links: gradmesh-worker-1 rejoined in generation $rejoined_in, whose all-reduce runs over direct links"
if [ $has_probes = 1 ]; then
  wait "$readyz_watch" || true
  grep -q '^ready ' "$work/readyz.txt" || fail "gradmesh-worker-0 is not ready (/readyz) in the new generation (got '$(cat "$work/readyz.txt")')"
  sed 's/^/  gradmesh-worker-0 \/readyz: /' "$work/readyz.txt"
  echo "probes: gradmesh-worker-0 answers /healthz (while the run waited) and /readyz (in the new generation)"
else
  echo "probes: not checked (this image has no --health-port)"
fi


step "wait for the run to complete"
podman wait --condition exited "$coord" >/dev/null 2>&1 || true
code="$(podman inspect --format '{{.State.ExitCode}}' "$coord")"
{ podman logs "$coord" 2>&1 | grep -E 'test accuracy|replicas agree' || podman logs --tail 10 "$coord" 2>&1; } | sed 's/^/  coordinator: /'
[ "$code" = 0 ] || fail "the coordinator exited with $code"
accuracy="$(podman logs "$coord" 2>&1 | grep -Eo 'test accuracy [0-9.]+' | tail -n1 | awk '{ print $3 }')"
[ -n "$accuracy" ] || fail "no test accuracy in the coordinator's log"
generations="$(podman logs "$coord" 2>&1 | grep -Ec 'generation [0-9]+ ')"
awk -v a="$accuracy" -v m="$MIN_ACCURACY" 'BEGIN { exit !(a >= m) }' || fail "test accuracy $accuracy % < $MIN_ACCURACY %"
through_nats="$(podman logs "$coord" 2>&1 | grep -Ec 'generation [0-9]+ .*all-reduce through NATS' || true)"
[ "$through_nats" = 0 ] || fail "$through_nats generation(s) ran their all-reduce through NATS"
# The report (GRADMESH_REPORT, on the coordinator's state volume): allreduce.transport and every generation event.
podman cp "$coord:/var/lib/gradmesh/report.json" "$work/report.json" || fail "cannot copy the coordinator's report out of $coord"
node deploy/check-direct-links.mjs "$work/report.json" --rejoined gradmesh-worker-1 "${check_args[@]}" || fail "the report does not show an all-reduce over direct links (above)"
for w in gradmesh-worker-0 gradmesh-worker-1; do
  podman wait --condition exited "$w-worker" >/dev/null 2>&1 || true
  echo "$w exited with $(podman inspect --format '{{.State.ExitCode}}' "$w-worker")"
done
echo "deploy/test.sh: PASS: test accuracy $accuracy % (>= $MIN_ACCURACY %), $generations generations, $route in each, gradmesh-worker-1 removed and rejoined"
