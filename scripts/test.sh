#!/usr/bin/env bash
# The whole test run, for `npm test` and CI (.ci/run): typecheck, lint (import boundaries and
# floating promises), the local stack (Kafka + Apicurio Registry + model, fetched with Maven on
# first use), then every test layer twice: with the machine's Node and with Node 24 (the image's
# runtime, scripts/node-24.sh), unless the machine's Node is 24 already. Typecheck, lint, tools and
# the stack are done once for both. Exits non-zero if either run failed.
#
# The stack is stopped on exit only if this script started it: a stack that was already fully up
# (`stack status` exit 0) belongs to the developer and is left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# onnxruntime-node must not try its optional CUDA download (not reachable, CPU inference only).
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
# Child processes started by tests run the TypeScript sources, never a stale `dist/` build.
export AURA_FROM_SOURCE=1

npm run typecheck
npm run lint
# promtool, prometheus and the manifest validators of test/deploy and the observability test
bash scripts/install-tools.sh

started_stack=0
up_log=$(mktemp)
cleanup() {
  rm -f "$up_log"
  if [ "$started_stack" = 1 ]; then
    echo 'test.sh: stopping the stack this run started' >&2
    node bin/aura-stream.js stack down || echo 'test.sh: `stack down` failed; see `node bin/aura-stream.js stack status`' >&2
  fi
}
trap cleanup EXIT
# A signal ends the script through `exit`, so the EXIT trap above still stops the stack.
trap 'exit 130' INT
trap 'exit 143' TERM

if node bin/aura-stream.js stack status >/dev/null 2>&1; then
  echo 'test.sh: stack already up; it is left running afterwards' >&2
else
  started_stack=1
fi
node bin/aura-stream.js stack up | tee "$up_log"

# `stack up` prints KEY=value lines for the app; the tests read the same variables.
for key in KAFKA_BROKERS SCHEMA_REGISTRY_URL EMBEDDING_MODEL_PATH; do
  value=$(sed -n "s/^${key}=//p" "$up_log" | tail -n 1)
  if [ -z "$value" ]; then
    echo "test.sh: \`stack up\` printed no ${key}=… line" >&2
    exit 1
  fi
  export "${key}=${value}"
done

# Node 24 before the first run, so a registry problem fails fast rather than after it
node24=''
if [ "$(node -p 'process.versions.node.split(".")[0]')" != 24 ]; then
  node24=$(bash scripts/node-24.sh)
fi

status=0
echo "test.sh: all layers on Node $(node --version) (the machine's)" >&2
node scripts/run-tests.mjs all || status=$?
if [ -n "$node24" ]; then
  echo "test.sh: all layers again on Node $("$node24" --version) ($node24)" >&2
  # first on PATH too: tests that spawn `node` by name get the same version as the runner
  PATH="$(dirname "$node24"):$PATH" "$node24" scripts/run-tests.mjs all || status=$?
fi
exit "$status"
