# Sourced by setup.sh (it defines step, finish, run_logged, module_dir, on_path_at_version): the parts
# of the single-node cluster that `npm run cluster` runs. Binaries a machine already has at the pinned
# version (on PATH) are used instead of building.

# The Kubernetes binaries and etcd, into one folder. kubectl comes from the same build.
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
if step "kubernetes v$KUBERNETES_VERSION, etcd v$ETCD_VERSION" "$KUBE_DIR"; then
  work="$WSS_CACHE/.work-kubernetes-$KUBERNETES_VERSION"
  rm -rf "$work" && mkdir -p "$work"
  # k8s.io/kubernetes replaces each staging module k8s.io/X with ./staging/src/k8s.io/X; the proxy
  # serves each of them as k8s.io/X v0.<minor>.<patch>, so the throwaway module pins those instead.
  kdir="$(module_dir "k8s.io/kubernetes@v$KUBERNETES_VERSION")"
  {
    echo "module wss.local/kubernetes-build"
    echo "go 1.24"
    echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
    awk '/^replace \(/{inside=1; next} inside && /^\)/{inside=0} inside && $1 ~ /^k8s.io\// {print $1}' "$kdir/go.mod" |
      while read -r m; do echo "replace $m => $m v0.${KUBERNETES_VERSION#1.}"; done
  } >"$work/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in "${KUBE_BINARIES[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } >"$work/tools.go"
  (cd "$work" && run_logged "$KUBE_DIR/tidy.log" go mod tidy -e)
  # Stamped, or the servers report v0.0.0 and clients complain about the skew.
  minor="${KUBERNETES_VERSION#1.}" && minor="${minor%%.*}"
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for b in "${KUBE_BINARIES[@]}"; do
    echo "      $b"
    (cd "$work" && run_logged "$KUBE_DIR/build-$b.log" go build -v -trimpath -tags tools -ldflags "$ldflags" \
      -o "$KUBE_DIR/bin/$b" "k8s.io/kubernetes/cmd/$b")
  done
  # etcd/server's go.mod also has replace directives: a throwaway module that requires it.
  ework="$WSS_CACHE/.work-etcd-$ETCD_VERSION"
  rm -rf "$ework" && mkdir -p "$ework"
  printf 'module wss.local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$ework/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$ework/tools.go"
  echo "      etcd"
  (cd "$ework" && run_logged "$KUBE_DIR/tidy-etcd.log" go mod tidy -e &&
    run_logged "$KUBE_DIR/build-etcd.log" go build -v -trimpath -tags tools -ldflags "-s -w" -o "$KUBE_DIR/bin/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work" "$ework"
  finish "$KUBE_DIR"
fi

# The oldest supported Kubernetes' API schema: downloaded, not built (a few seconds).
if step "kubernetes v$KUBERNETES_OLDEST_VERSION API schema" "$KUBERNETES_OLDEST_OPENAPI_DIR"; then
  src="$(module_dir "k8s.io/kubernetes@v$KUBERNETES_OLDEST_VERSION")"
  cp "$src"/api/openapi-spec/v3/*.json "$KUBERNETES_OLDEST_OPENAPI_DIR/"
  rmdir "$KUBERNETES_OLDEST_OPENAPI_DIR/bin"
  finish "$KUBERNETES_OLDEST_OPENAPI_DIR"
fi

# The CNI plugins the node's network uses: a bridge with host-local addresses, loopback, and portmap.
if step "cni plugins v$CNI_PLUGINS_VERSION" "$CNI_DIR"; then
  src="$(module_dir "github.com/containernetworking/plugins@v$CNI_PLUGINS_VERSION")"
  for p in main/bridge main/loopback ipam/host-local meta/portmap; do
    (cd "$src" && run_logged "$CNI_DIR/build-${p#*/}.log" go build -trimpath -ldflags "-s -w" -o "$CNI_DIR/bin/${p#*/}" "./plugins/$p")
  done
  finish "$CNI_DIR"
fi

# CoreDNS (cluster DNS; its config answers cluster.local only), and our pause binary beside it.
if step "coredns v$COREDNS_VERSION" "$COREDNS_DIR"; then
  if existing="$(on_path_at_version coredns "CoreDNS-$COREDNS_VERSION")"; then
    ln -s "$existing" "$COREDNS_DIR/bin/coredns"; echo "      using $existing"
  else
    GOBIN="$COREDNS_DIR/bin" run_logged "$COREDNS_DIR/build.log" go install -v -trimpath -ldflags "-s -w" \
      "github.com/coredns/coredns@v$COREDNS_VERSION"
  fi
  (cd "$root/scripts/cluster/pause" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$COREDNS_DIR/bin/pause" .)
  finish "$COREDNS_DIR"
fi

# The container runtime and the node's networking tools, from the distribution when missing. The
# cluster runs as root; on a machine where setup is not root, it says what to install instead of
# asking for a password (the rest of the toolchain does not need these).
missing=()
for cmd in containerd runc iptables conntrack; do
  command -v "$cmd" >/dev/null || missing+=("$cmd")
done
step_no=$((step_no + 1))
if [ "${#missing[@]}" -eq 0 ]; then
  echo "[$step_no/$steps_total] containerd, runc, iptables, conntrack: the machine's"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "[$step_no/$steps_total] installing ${missing[*]} from Debian (total so far $(elapsed))"
  run_logged "$WSS_CACHE/cluster-apt.log" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${missing[*]}"
else
  echo "[$step_no/$steps_total] note: npm run cluster needs ${missing[*]} (as root); install them with the system's package manager to use it"
fi
