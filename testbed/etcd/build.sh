#!/usr/bin/env bash
# build.sh OUTDIR: build upstream etcd v3.6.16 (go.etcd.io/etcd/server/v3, pinned
# by go.mod/go.sum next to this script) into OUTDIR/etcd for ksdoctor's
# real-cluster tests (package testbed/kube); skipped while its inputs are
# unchanged (testbed/buildbin.sh). About 40 s cold on 2 cores.
#
# Why not Debian's etcd-server: it is 3.4.23, which lacks the progress
# notifications kube-apiserver needs to serve consistent Lists from its watch
# cache (etcd >= 3.4.31 / 3.5.13), so every List went to etcd: 50,000 pods
# took 2.4 s instead of 1.1 s, the Failed ones 1.0 s instead of 0.09 s. The
# clusters ksdoctor meets run etcd 3.5 or later (KubeKey installs 3.5.x).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../buildbin.sh" etcd "$here" "${1:-/var/cache/ksdoctor-test/bin}" \
	"etcd Version: 3.6.16" "" etcd=go.etcd.io/etcd/server/v3
