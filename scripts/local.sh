#!/usr/bin/env bash
# `npm run local [-- up|down|destroy|status]`: the project's main job on one machine. Installs what
# is missing (npm dependencies, the toolchain), then hands over to scripts/local-stack.mts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command="${1:-up}"
if [ "$command" = "up" ]; then
  # npm ci only when the installed tree is missing or older than the lockfile.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
  echo "== toolchain"
  bash scripts/toolchain/setup.sh | sed -n '/toolchain ready/p;/building/p;/error/p'
fi
# The shared rules (rules/*.ts) are ES modules in a package without "type": node finds that out
# itself; the warning it prints about it is noise here.
exec bash scripts/with-tools.sh node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON scripts/local-stack.mts "$@"
