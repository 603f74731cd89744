#!/usr/bin/env bash
# Builds localhost/gradmesh-node20-base: a Debian bookworm minbase root with this machine's Node.js 20 binary,
# for machines that cannot pull node:20-bookworm-slim from a registry. deploy/Dockerfile takes it with
#   podman build --build-arg NODE_IMAGE=localhost/gradmesh-node20-base ...
# A normal user skips this script: the Dockerfile's default base is the official node:20-bookworm-slim.
#
# Note [why debootstrap and the host's node]: bookworm's own nodejs is 18, and gradmesh needs >= 20. The
# official Node 20 linux-x64 binary (which the host's NodeSource package installs) links only glibc,
# libstdc++ and libgcc, all in minbase, so copying the one file in gives a working Node 20 — no registry,
# only the Debian mirror the host's apt already uses.
#
# Usage: deploy/base-image.sh [image-tag]     (root; installs debootstrap and podman when missing)
#   ENGINE=docker deploy/base-image.sh        imports into docker instead of podman
set -euo pipefail

tag="${1:-localhost/gradmesh-node20-base}"
engine="${ENGINE:-podman}"
suite=bookworm

die() { echo "base-image.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "debootstrap needs root (run it as root, or use the official node:20-bookworm-slim base)"
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ "$engine" != podman ] || command -v podman >/dev/null 2>&1 || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v "$engine" >/dev/null 2>&1 || die "$engine is not installed"

node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || die "no node on PATH to copy into the image (install Node.js 20)"
node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || die "the host's node is $("$node_bin" --version), the image needs Node 20"

# The mirror the host's apt uses (deb822 "URIs:" or one-line "deb URL suite"), for the main archive.
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | awk '/^URIs:/ { print $2 } /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
  | grep -E '/debian/?$' | head -n1 || true)"
[ -n "$mirror" ] || die "found no Debian mirror in /etc/apt/sources.list*"

root="$(mktemp -d /var/tmp/gradmesh-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT

echo "== debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
rm -f "$root.log"

echo "== node $("$node_bin" --version) from $node_bin"
cp -L "$node_bin" "$root/usr/local/bin/node"
chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || die "node does not run inside the new root (missing libraries?)"
# npm too, for the Dockerfile's build stage (the runtime stage removes it), at the official image's paths.
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[ -f "$npm_dir/package.json" ] || die "found no npm next to node (looked in $npm_dir)"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# Smaller: package lists, docs, man pages and locales are not needed at run time.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/usr/share/info/* "$root"/usr/share/locale/*

tar -C "$root" -c . | "$engine" import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "built $tag ($("$engine" image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
