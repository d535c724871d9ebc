#!/usr/bin/env bash
# Builds the project's real parts from source once, into a cache outside the repository:
# Node.js 22 (when the machine's is older), the MinIO server and mc, the Pulumi CLI with our Node.js
# language host, the dynamic-provider shim and the Kubernetes provider plugin; and makes sure a
# Chromium is there for the upload page's browser test (the machine's, or Debian's package). A part whose cache folder is complete is reused, so a
# second run takes seconds. A failing step stops everything and shows its command and output.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=versions.sh
source "$root/scripts/toolchain/versions.sh"
mkdir -p "$WSS_CACHE"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local

started=$SECONDS
steps_total=14
step_no=0
elapsed() { local s=$((SECONDS - ${1:-$started})); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# run_logged LOG CMD...: runs a long command, printing progress every 30 s; on failure prints the
# command and the end of its output, then exits.
run_logged() {
  local log="$1"; shift
  local t0=$SECONDS
  "$@" >"$log" 2>&1 &
  local pid=$! next=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      echo "      ... $(elapsed "$t0") ($(wc -l <"$log") packages built so far)"
      next=$((next + 30))
    fi
  done
  if ! wait "$pid"; then
    echo "error: step failed after $(elapsed "$t0"): $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# step NAME DIR: announces a step; returns 1 (skip) when DIR is already complete.
step() {
  step_no=$((step_no + 1))
  if [ -f "$2/.complete" ]; then
    echo "[$step_no/$steps_total] $1: cached ($2)"
    return 1
  fi
  echo "[$step_no/$steps_total] $1: building into $2 (total so far $(elapsed))"
  rm -rf "$2"
  mkdir -p "$2/bin"
}
finish() { date -u +%FT%TZ >"$1/.complete"; }

# module_dir MODULE@VERSION: downloads a Go module (read-only, in the module cache) and prints its folder.
module_dir() {
  go mod download -json "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}process.stdout.write(m.Dir)})'
}

# writable_copy MODULE@VERSION WORKDIR: a writable copy of a module, to edit its go.mod before building.
writable_copy() {
  local src
  src="$(module_dir "$1")"
  rm -rf "$2"
  cp -r "$src" "$2"
  chmod -R u+w "$2"
}

# on_path_at_version CMD EXPECTED: prints the path of CMD when it is on PATH and its version output
# contains EXPECTED, so a user's existing binary is used instead of building.
on_path_at_version() {
  local bin
  bin="$(command -v "$1" 2>/dev/null)" || return 1
  case "$("$bin" --version 2>/dev/null || "$bin" version 2>/dev/null)" in
    *"$2"*) echo "$bin" ;;
    *) return 1 ;;
  esac
}

# 1. Node.js 22. The npm package node@22 installs its binary from the platform package
# node-linux-<arch>; we fetch that package directly, which needs no install scripts.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 22 ]; then
  step_no=$((step_no + 1)); echo "[$step_no/$steps_total] node: the machine's $(node --version) is >= 22, using it"
elif step "node $NODE_VERSION" "$NODE_DIR"; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "error: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
  tmp="$(mktemp -d)"
  run_logged "$tmp/npm-pack.log" npm pack --silent --pack-destination "$tmp" "node-linux-$arch@$NODE_VERSION"
  tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp"
  cp "$tmp/package/bin/node" "$NODE_DIR/bin/node"
  rm -rf "$tmp"
  "$NODE_DIR/bin/node" --version >/dev/null
  finish "$NODE_DIR"
fi

# 2-3. MinIO server and mc: plain `go install` of the pinned module versions (no replace directives),
# with the commit stamped where `--version` shows it (so a binary on PATH can be recognised).
# go_install_minio_tool NAME DIR MODULE_VERSION VERSION_STAMP
go_install_minio_tool() {
  local name="$1" dir="$2" version="$3" stamp="$4" commit="${3##*-}" existing
  step "$name $version" "$dir" || return 0
  if existing="$(on_path_at_version "$name" "$commit")"; then
    ln -s "$existing" "$dir/bin/$name"; echo "      using $existing"
  else
    local pkg="github.com/minio/$name/cmd"
    GOBIN="$dir/bin" run_logged "$dir/build.log" go install -v -trimpath \
      -ldflags "-s -w -X $pkg.Version=$stamp -X $pkg.ReleaseTag=DEVELOPMENT.${stamp//:/-} -X $pkg.CommitID=$commit -X $pkg.ShortCommitID=$commit" \
      "github.com/minio/$name@$version"
  fi
  finish "$dir"
}
# MinIO's Version is an RFC 3339 time: the commit time from the pseudo-version.
ts="${MINIO_MODULE_VERSION#v0.0.0-}"; ts="${ts%%-*}"
go_install_minio_tool minio "$MINIO_DIR" "$MINIO_MODULE_VERSION" \
  "${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
go_install_minio_tool mc "$MC_DIR" "$MC_MODULE_VERSION" "${MC_MODULE_VERSION##*-}"

# 4. Pulumi CLI. pkg/v3's go.mod replaces sdk/v3 with ../sdk, which is not in the module zip and
# which `go install` refuses: build from a writable copy with that replace dropped (it already
# requires sdk/v3 at the same version). The version is stamped so the Automation API can parse it.
if step "pulumi CLI $PULUMI_VERSION" "$PULUMI_DIR"; then
  if existing="$(on_path_at_version pulumi "v$PULUMI_VERSION")"; then
    ln -s "$existing" "$PULUMI_DIR/bin/pulumi"; echo "      using $existing"
  else
    work="$WSS_CACHE/.work-pulumi-$PULUMI_VERSION"
    writable_copy "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "$work"
    (cd "$work" && go mod edit -dropreplace=github.com/pulumi/pulumi/sdk/v3)
    (cd "$work" && run_logged "$PULUMI_DIR/build.log" go build -v -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$PULUMI_DIR/bin/pulumi" ./cmd/pulumi)
    rm -rf "$work"
  fi
  finish "$PULUMI_DIR"
fi

# 5. Our Node.js language host (scripts/toolchain/language-nodejs), rebuilt when its source changes.
# It sits beside the CLI, where the CLI looks for bundled language hosts.
step_no=$((step_no + 1))
host_src="$root/scripts/toolchain/language-nodejs"
host_key="$PULUMI_VERSION-$(cat "$host_src"/go.mod "$host_src"/go.sum "$host_src"/*.go | sha256sum | cut -c1-16)"
if [ "$(cat "$PULUMI_DIR/.language-host" 2>/dev/null)" = "$host_key" ]; then
  echo "[$step_no/$steps_total] pulumi-language-nodejs: cached ($host_key)"
else
  echo "[$step_no/$steps_total] pulumi-language-nodejs: building ($host_key)"
  (cd "$host_src" && GOFLAGS=-mod=readonly run_logged "$PULUMI_DIR/language-host.log" go build -trimpath \
    -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$PULUMI_DIR/bin/pulumi-language-nodejs" .)
  echo "$host_key" >"$PULUMI_DIR/.language-host"
fi

# 6. The dynamic-provider shim: the engine runs our components/providers through the plugin
# `pulumi-resource-pulumi-nodejs`, a small script that the SDK module ships.
step_no=$((step_no + 1))
if [ -x "$PULUMI_DIR/bin/pulumi-resource-pulumi-nodejs" ]; then
  echo "[$step_no/$steps_total] dynamic-provider shim: cached"
else
  sdk="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")"
  install -m 0755 "$sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$PULUMI_DIR/bin/"
  echo "[$step_no/$steps_total] dynamic-provider shim: installed"
fi

# 7. The Kubernetes provider plugin. Its go.mod replaces sdk/v4 with ../sdk (not in the module zip):
# drop it (it requires the published sdk/v4 already), write the embedded schema with the version
# stamped (upstream's `go generate`), build, and install it into the plugin cache under the exact
# version the npm SDK asks for.
if step "pulumi-resource-kubernetes $KUBERNETES_PROVIDER_VERSION" "$KUBERNETES_DIR"; then
  work="$WSS_CACHE/.work-kubernetes-$KUBERNETES_PROVIDER_VERSION"
  writable_copy "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_PROVIDER_MODULE_VERSION" "$work"
  (cd "$work" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4)
  (cd "$work/cmd/pulumi-resource-kubernetes" && VERSION="v$KUBERNETES_PROVIDER_VERSION" run_logged "$KUBERNETES_DIR/generate.log" go run ./generate.go)
  (cd "$work" && run_logged "$KUBERNETES_DIR/build.log" go build -v -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v$KUBERNETES_PROVIDER_VERSION" \
    -o "$KUBERNETES_DIR/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  rm -rf "$work"
  finish "$KUBERNETES_DIR"
fi
plugin_dir="$PULUMI_HOME/plugins/resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION"
if [ ! -x "$plugin_dir/pulumi-resource-kubernetes" ]; then
  run_logged "$KUBERNETES_DIR/plugin-install.log" "$PULUMI_DIR/bin/pulumi" plugin install resource kubernetes \
    "$KUBERNETES_PROVIDER_VERSION" --file "$KUBERNETES_DIR/bin/pulumi-resource-kubernetes"
  echo "      installed into the plugin cache as kubernetes $KUBERNETES_PROVIDER_VERSION"
fi

if step "schemathesis $SCHEMATHESIS_VERSION" "$SCHEMATHESIS_DIR"; then
  # A virtual environment of its own: the machine's Python packages stay untouched.
  python3 -m venv "$SCHEMATHESIS_DIR/venv"
  run_logged "$SCHEMATHESIS_DIR/pip.log" "$SCHEMATHESIS_DIR/venv/bin/pip" install --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
  ln -s ../venv/bin/st "$SCHEMATHESIS_DIR/bin/st"
  finish "$SCHEMATHESIS_DIR"
fi

# 9. A browser for the upload page's test: one the machine has (CHROMIUM_PATH, or chromium / google-chrome
# on PATH), else Debian's chromium package. Driven by playwright-core, which never downloads a browser.
step_no=$((step_no + 1))
browser="${CHROMIUM_PATH:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -n "$browser" ]; then
  echo "[$step_no/$steps_total] browser: the machine's ($browser)"
elif command -v apt-get >/dev/null; then
  echo "[$step_no/$steps_total] browser: installing Debian's chromium (total so far $(elapsed))"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  run_logged "$WSS_CACHE/chromium-apt.log" sh -c "$sudo_cmd apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium"
else
  echo "error: no Chromium found; install one, or set CHROMIUM_PATH to its binary" >&2
  exit 1
fi

# 10-14. The single-node cluster's parts (npm run cluster) and the oldest supported API's schema. WSS_SETUP_CLUSTER=false leaves them out,
# e.g. on a machine that deploys to a cluster of its own and never runs ours.
if [ "${WSS_SETUP_CLUSTER:-true}" = "false" ]; then
  echo "[10-14/$steps_total] the single-node cluster's parts: left out (WSS_SETUP_CLUSTER=false)"
else
  # shellcheck source=cluster-parts.sh
  source "$root/scripts/toolchain/cluster-parts.sh"
fi

echo
echo "toolchain ready in $(elapsed) (cache: $WSS_CACHE)"
PATH="$NODE_DIR/bin:$PULUMI_DIR/bin:$MINIO_DIR/bin:$MC_DIR/bin:$SCHEMATHESIS_DIR/bin:$PATH"
echo "  node    $(node --version)"
echo "  pulumi  $(pulumi version)"
echo "  minio   $(minio --version | head -n 1)"
echo "  mc      $(mc --version | head -n 1)"
echo "  st      $(st --version)"
echo "  plugins $(pulumi plugin ls 2>/dev/null | awk '$2 == "resource" {printf "%s %s  ", $1, $3}')"
