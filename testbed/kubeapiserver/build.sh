#!/usr/bin/env bash
# build.sh OUTDIR: build the upstream kube-apiserver (k8s.io/kubernetes v1.36.3, pinned
# by go.mod/go.sum next to this script) into OUTDIR/kube-apiserver for ksdoctor's
# real-cluster tests (package testbed/kube); skipped while its inputs are unchanged
# (testbed/buildbin.sh). A cold build takes about 5 minutes on 2 cores and ~2 GB RAM
# at the link step.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="v1.36.3"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=36 -X $pkg.gitTreeState=clean"
done
exec "$here/../buildbin.sh" kube-apiserver "$here" "${1:-/var/cache/ksdoctor-test/bin}" \
	"Kubernetes $version" "${ldflags# }" kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
