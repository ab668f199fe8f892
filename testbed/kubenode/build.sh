#!/usr/bin/env bash
# build.sh OUTDIR: build the upstream kubelet and kube-controller-manager
# (k8s.io/kubernetes v1.36.3, pinned by go.mod/go.sum next to this script: the
# same release and staging versions as testbed/kubeapiserver) into OUTDIR for
# ksdoctor's real-kubelet tests (testbed/kube's Node, package fleet); skipped
# while its inputs are unchanged (testbed/buildbin.sh). The packages they share
# with kube-apiserver hit the same Go build cache (same versions and flags).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="v1.36.3"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=36 -X $pkg.gitTreeState=clean"
done
exec "$here/../buildbin.sh" kubenode "$here" "${1:-/var/cache/ksdoctor-test/bin}" \
	"Kubernetes $version" "${ldflags# }" \
	kubelet=k8s.io/kubernetes/cmd/kubelet kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
