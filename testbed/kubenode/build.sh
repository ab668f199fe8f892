#!/usr/bin/env bash
# build.sh OUTDIR: build the upstream kubelet and kube-controller-manager
# (k8s.io/kubernetes v1.36.3, pinned by go.mod/go.sum next to this script: the
# same release and staging versions as testbed/kubeapiserver) into OUTDIR for
# ksdoctor's real-kubelet tests (testbed/kube's Node, package fleet).
#
# Both commands come from one `go build`, so they share one compile of the
# common packages, and the packages they share with kube-apiserver hit the same
# Go build cache (same versions, same flags: CGO_ENABLED=0 -trimpath).
#
# Skipped when both binaries exist and OUTDIR/kubenode.stamp holds the hash of
# the inputs (go.mod, go.sum, tools.go, this script and `go version`).
#
# Environment: GO (default: go), KUBE_NODE_BUILD_P (go build -p, default: nproc
# capped at 4), FORCE=1 to rebuild regardless of the stamp.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
outdir="${1:-/var/cache/ksdoctor-test/bin}"
go="${GO:-go}"
version="v1.36.3"
major="1"
minor="36"
cmds=(kubelet kube-controller-manager)

start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
stamp="$outdir/kubenode.stamp"

# One build at a time per OUTDIR (parallel `make` or CI jobs share the cache).
exec 9>"$outdir/.kubenode.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

inputs_hash() {
	{
		(cd "$here" && sha256sum go.mod go.sum tools.go build.sh)
		"$go" version
		"$go" env GOOS GOARCH
	} | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash)"

uptodate() {
	[[ -z "${FORCE:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
	for c in "${cmds[@]}"; do
		[[ -x "$outdir/$c" ]] || return 1
	done
}
if uptodate; then
	echo "build.sh: kubelet and kube-controller-manager in $outdir are up to date; skipped in $(elapsed)s"
	exit 0
fi

p="${KUBE_NODE_BUILD_P:-$(nproc)}"
if [[ -z "${KUBE_NODE_BUILD_P:-}" && "$p" -gt 4 ]]; then
	p=4
fi

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitTreeState=clean"
done

echo "build.sh: building ${cmds[*]} $version into $outdir (-p $p)"
tmp="$(mktemp -d "$outdir/.kubenode.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pkgs=()
for c in "${cmds[@]}"; do
	pkgs+=("k8s.io/kubernetes/cmd/$c")
done
(
	cd "$here"
	CGO_ENABLED=0 "$go" build -p "$p" -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
)
for c in "${cmds[@]}"; do
	got="$("$tmp/$c" --version)"
	if [[ "$got" != "Kubernetes $version" ]]; then
		echo "build.sh: built $c reports '$got', want 'Kubernetes $version'" >&2
		exit 1
	fi
	chmod 0755 "$tmp/$c"
	mv -f "$tmp/$c" "$outdir/$c"
done
echo "$want" >"$stamp"
echo "build.sh: built ${cmds[*]} ($(du -ch "${cmds[@]/#/$outdir/}" | tail -1 | cut -f1)) in $(elapsed)s"
