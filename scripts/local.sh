#!/usr/bin/env bash
# `npm run local [-- up|down|destroy|status] [--target kubernetes]`: the project's main job on one
# machine. Installs what is missing (npm dependencies, the toolchain), then hands over to
# scripts/local-stack.mts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The command is the first argument that is not a flag (`npm run local -- --target kubernetes` is an up).
command=up
skip_value=false
for arg in "$@"; do
  if $skip_value; then skip_value=false; continue; fi
  case "$arg" in --target) skip_value=true ;; --*) ;; *) command="$arg"; break ;; esac
done
if [ "$command" = "up" ]; then
  # npm ci only when the installed tree is missing or older than the lockfile.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
  echo "== toolchain"
  # Cached steps are left out; what builds, its progress (every 30 s) and errors are shown as they come.
  bash scripts/toolchain/setup.sh | sed -u -n '/toolchain ready/p;/building/p;/installing/p;/^      /p;/error/p'
fi
# The shared rules (rules/*.ts) are ES modules in a package without "type": node finds that out
# itself; the warning it prints about it is noise here.
exec bash scripts/with-tools.sh node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON scripts/local-stack.mts "$@"
