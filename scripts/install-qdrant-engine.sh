#!/usr/bin/env bash
# Installs Qdrant's embedded engine for the tests, idempotently (a second run only checks): the
# PyPI package qdrant-edge-py, a prebuilt wheel without dependencies, into its own venv under
# .cache/tools/qdrant-venv. test/support/qdrant-engine-shim.py serves Qdrant's REST API over it
# (docs/qdrant-engine-in-tests.md). Called by scripts/install-tools.sh; prints `QDRANT_ENGINE_PYTHON=…`
# (test/support/tools.ts finds the same path itself).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Pinned: the shim maps REST onto this version's Python API (its .pyi stubs ship in the wheel).
QDRANT_EDGE_VERSION=0.9.0
venv=.cache/tools/qdrant-venv

stamp="$venv/installed-qdrant-edge-py-$QDRANT_EDGE_VERSION"
if [ ! -e "$stamp" ]; then
  echo "install-qdrant-engine.sh: installing qdrant-edge-py $QDRANT_EDGE_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: "qdrant-edge-py==$QDRANT_EDGE_VERSION"
  "$venv/bin/python" -c 'import qdrant_edge' >/dev/null
  rm -f "$venv"/installed-*
  touch "$stamp"
fi

echo "QDRANT_ENGINE_PYTHON=$PWD/$venv/bin/python"
