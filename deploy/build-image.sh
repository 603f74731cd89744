#!/usr/bin/env bash
# Builds localhost/gradmesh:<version> with podman from deploy/Dockerfile on a machine that cannot pull base
# images: the base is localhost/gradmesh-node20-base (deploy/base-image.sh, built when missing). The build
# reaches the npm registry through the host's network (--network=host) and trusts the host's CA bundle
# (a build secret, never a layer), as the host's own npm does.
#
# Usage: deploy/build-image.sh [tag]            prints the image's size at the end
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(node -p 'require("./package.json").version')"
tag="${1:-localhost/gradmesh:$version}"
base=localhost/gradmesh-node20-base

podman image exists "$base" || bash deploy/base-image.sh "$base"
secret=()
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
[ -r "$ca" ] && secret=(--secret "id=npm-ca,src=$ca")

podman build --network=host -f deploy/Dockerfile \
  --build-arg NODE_IMAGE="$base" \
  --build-arg VERSION="$version" \
  --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "${secret[@]}" -t "$tag" .
echo "built $tag: $(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
