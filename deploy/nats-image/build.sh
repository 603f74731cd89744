#!/usr/bin/env bash
# Builds the local image gradmesh/nats:local from the nats-server binary installed on this machine (Debian's
# `apt-get install nats-server` puts it in /usr/sbin), for machines that cannot pull the official `nats` image.
# The image holds only the binary, the shared libraries `ldd` lists for it and their loader — no shell, no
# package manager — and is made with `docker import`, which needs no registry and no base image.
#
# Usage: deploy/nats-image/build.sh [path-to-nats-server] [image-tag]
#   then: GRADMESH_NATS_IMAGE=gradmesh/nats:local npx vitest run tests/integration
#   ENGINE=podman deploy/nats-image/build.sh "" localhost/gradmesh-nats:2.9.10   (deploy/test.sh, the k8s overlay local)
set -euo pipefail

engine="${ENGINE:-docker}"
binary="${1:-${GRADMESH_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}}"
tag="${2:-gradmesh/nats:local}"

if [[ ! -x "$binary" ]]; then
  echo "build.sh: no nats-server binary at '$binary' (install it with: apt-get install -y nats-server)" >&2
  exit 1
fi
command -v "$engine" >/dev/null || { echo "build.sh: $engine is not installed" >&2; exit 1; }

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# The binary goes where the ENTRYPOINT expects it, whatever its source path.
mkdir -p "$root/usr/sbin"
cp -L "$binary" "$root/usr/sbin/nats-server"

# Every resolved library (`libc.so.6 => /lib/...`) and the loader (`/lib64/ld-linux-x86-64.so.2`), at the same
# paths as on the host, so the binary's interpreter path and the loader's default search path both work.
# (Go builds of nats-server are often static; then ldd lists nothing and the image is the binary alone.)
while read -r lib; do
  [[ -n "$lib" && -e "$lib" ]] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done < <(ldd "$binary" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' | sort -u)

# nats-server needs a writable /tmp only for JetStream; the other directories keep tools that expect them quiet.
# /data is where deploy/k8s mounts the JetStream volume (owned by the official image's uid 1000, which the
# manifests run as, so a fresh podman volume takes that owner).
mkdir -p "$root/tmp" "$root/etc" "$root/data"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/data"

tar -C "$root" -c . | "$engine" import \
  --change 'ENTRYPOINT ["/usr/sbin/nats-server"]' \
  --change 'EXPOSE 4222' --change 'EXPOSE 8222' \
  - "$tag" >/dev/null

echo "built $tag from $binary ($("$binary" --version 2>/dev/null || echo 'unknown version'))"
