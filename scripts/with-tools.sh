#!/usr/bin/env bash
# Runs a command with the project's toolchain first on PATH and Pulumi kept offline.
# Usage: scripts/with-tools.sh COMMAND [ARGS...]   (npm scripts use it; `npm run setup` builds the tools)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=toolchain/versions.sh
source "$root/scripts/toolchain/versions.sh"

for dir in "$PULUMI_DIR" "$MINIO_DIR" "$MC_DIR" "$SCHEMATHESIS_DIR"; do
  if [ ! -f "$dir/.complete" ]; then
    echo "error: the toolchain is not set up ($dir is missing). Run: npm run setup" >&2
    exit 1
  fi
done
path="$PULUMI_DIR/bin:$MINIO_DIR/bin:$MC_DIR/bin:$SCHEMATHESIS_DIR/bin:$root/node_modules/.bin"
# kubectl (and the cluster's other binaries) once `npm run setup` has built them.
if [ -f "$KUBE_DIR/.complete" ]; then
  path="$path:$KUBE_DIR/bin"
fi
if [ -x "$NODE_DIR/bin/node" ]; then
  path="$NODE_DIR/bin:$path"
fi
export PATH="$path:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
# Never download a plugin: every plugin the program needs is built by setup.sh.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export WSS_CACHE
exec "$@"
