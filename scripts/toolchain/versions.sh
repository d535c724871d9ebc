# Pins for the real parts the project builds from source, and where they are cached.
# Sourced by setup.sh and ../with-tools.sh. Each part is cached in a folder named after its version,
# so a fresh clone (as in CI) reuses what an earlier run built, and a pin change builds anew.
# Why each pin is what it is: README.md, "Toolchain".

NODE_VERSION=22.23.3

# MinIO is pinned by Go module version (the repository has no semver tags). The proxy serves only
# the newest revision of github.com/minio/minio (2026-02-12, after the fix for CVE-2025-62506) and
# of github.com/minio/mc (2025-03-13).
MINIO_MODULE_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_MODULE_VERSION=v0.0.0-20250313080218-cf909e1063a9

# The CLI and our language host share the version of the npm package @pulumi/pulumi (package.json).
PULUMI_VERSION=3.276.0

# The Kubernetes provider plugin, at the version of the npm SDK @pulumi/kubernetes (package.json).
# The proxy serves one revision of its Go module (2026-01-15, which requires sdk/v4 4.24.0), the
# code of the 4.24.x line; it is stamped with the npm SDK's version so the engine finds it.
KUBERNETES_PROVIDER_VERSION=4.24.1
KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199

# The contract fuzzer (test/api/contract.test.ts), from PyPI into a virtual environment of its own.
SCHEMATHESIS_VERSION=4.32.5

WSS_CACHE="${WSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/workflow-studio-storage}"
NODE_DIR="$WSS_CACHE/node-$NODE_VERSION"
MINIO_DIR="$WSS_CACHE/minio-$MINIO_MODULE_VERSION"
MC_DIR="$WSS_CACHE/mc-$MC_MODULE_VERSION"
PULUMI_DIR="$WSS_CACHE/pulumi-$PULUMI_VERSION"
KUBERNETES_DIR="$WSS_CACHE/pulumi-resource-kubernetes-$KUBERNETES_PROVIDER_VERSION"
SCHEMATHESIS_DIR="$WSS_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
export PULUMI_HOME="$WSS_CACHE/pulumi-home"

# The single-node cluster (npm run cluster): the control plane and the node, from Go modules.
# k8s.io/kubernetes is built through a throwaway module that pins its staging modules (its own go.mod
# replaces them with ./staging, which is not in the module zip). etcd 3.6 is the line 1.34 is tested with.
KUBERNETES_VERSION=1.34.4
ETCD_VERSION=3.6.16
CNI_PLUGINS_VERSION=1.10.0
COREDNS_VERSION=1.15.0
KUBE_DIR="$WSS_CACHE/kubernetes-$KUBERNETES_VERSION-etcd-$ETCD_VERSION"
CNI_DIR="$WSS_CACHE/cni-plugins-$CNI_PLUGINS_VERSION"
COREDNS_DIR="$WSS_CACHE/coredns-$COREDNS_VERSION"

# The oldest Kubernetes the README promises (the API's preStop.sleep is beta, on by default, in 1.30).
# Its published OpenAPI schema (no build: the module's api/openapi-spec/v3) checks that the rendered
# manifests use only fields that version declares.
KUBERNETES_OLDEST_VERSION=1.30.14
KUBERNETES_OLDEST_OPENAPI_DIR="$WSS_CACHE/kubernetes-openapi-$KUBERNETES_OLDEST_VERSION"
