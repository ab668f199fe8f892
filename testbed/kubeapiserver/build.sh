#!/usr/bin/env bash
# build.sh OUTDIR: build the upstream kube-apiserver (k8s.io/kubernetes v1.36.3, pinned
# by go.mod/go.sum next to this script) into OUTDIR/kube-apiserver for ksdoctor's
# real-cluster tests (package testbed/kube).
#
# The build is skipped when OUTDIR/kube-apiserver exists and OUTDIR/kube-apiserver.stamp
# holds the hash of the inputs (go.mod, go.sum, main.go, this script and `go version`).
# A cold build takes about 5 minutes on 2 cores and ~2 GB RAM at the link step.
#
# Environment: GO (default: go), KUBE_APISERVER_BUILD_P (go build -p, default: nproc
# capped at 4), FORCE=1 to rebuild regardless of the stamp.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
outdir="${1:-/var/cache/ksdoctor-test/bin}"
go="${GO:-go}"
version="v1.36.3"
major="1"
minor="36"

start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
bin="$outdir/kube-apiserver"
stamp="$outdir/kube-apiserver.stamp"

# One build at a time per OUTDIR (parallel `make` or CI jobs share the cache).
exec 9>"$outdir/.kube-apiserver.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

inputs_hash() {
	{
		(cd "$here" && sha256sum go.mod go.sum main.go build.sh)
		"$go" version
		"$go" env GOOS GOARCH
	} | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash)"

if [[ -z "${FORCE:-}" && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	echo "build.sh: $bin is up to date (stamp $want); skipped in $(elapsed)s"
	exit 0
fi

p="${KUBE_APISERVER_BUILD_P:-$(nproc)}"
if [[ -z "${KUBE_APISERVER_BUILD_P:-}" && "$p" -gt 4 ]]; then
	p=4
fi

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitTreeState=clean"
done

echo "build.sh: building kube-apiserver $version into $bin (-p $p)"
tmp="$(mktemp "$outdir/.kube-apiserver.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(
	cd "$here"
	CGO_ENABLED=0 "$go" build -p "$p" -trimpath -ldflags "$ldflags" -o "$tmp" \
		k8s.io/kubernetes/cmd/kube-apiserver
)
got="$("$tmp" --version)"
if [[ "$got" != "Kubernetes $version" ]]; then
	echo "build.sh: built binary reports '$got', want 'Kubernetes $version'" >&2
	exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "$want" >"$stamp"
echo "build.sh: built $bin ($(du -h "$bin" | cut -f1), $got) in $(elapsed)s"
