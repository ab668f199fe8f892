#!/usr/bin/env bash
# buildbin.sh: build upstream commands pinned by a module of their own under
# testbed/ (kube-apiserver, kubelet and kube-controller-manager, etcd) into a
# cache directory for ksdoctor's real-part tests, once: the build is skipped
# while every binary exists and NAME.stamp in the cache holds the hash of the
# inputs (the module's go.mod, go.sum and .go files, its build.sh, this script,
# `go version`, GOOS/GOARCH and the flags).
#
#   buildbin.sh NAME MODDIR OUTDIR WANT LDFLAGS CMD=PKG...
#
# NAME    names the stamp and lock files in OUTDIR (NAME.stamp, .NAME.lock)
# MODDIR  the module that pins the packages (go.mod/go.sum)
# OUTDIR  the cache directory; each CMD lands in OUTDIR/CMD
# WANT    what every built binary's `--version` must print (its first line)
# LDFLAGS extra -ldflags after "-s -w" ("" for none)
# CMD=PKG a command name and the import path of its main package
#
# Environment: GO (default: go), BUILD_P (go build -p; default: nproc capped
# at 4), FORCE=1 to rebuild regardless of the stamp.
set -euo pipefail

if [[ $# -lt 6 ]]; then
	echo "usage: buildbin.sh NAME MODDIR OUTDIR WANT LDFLAGS CMD=PKG..." >&2
	exit 2
fi
name=$1 moddir=$2 outdir=$3 want_version=$4 extra_ldflags=$5
shift 5
go="${GO:-go}"
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
moddir="$(cd "$moddir" && pwd)"
cmds=() pkgs=()
for arg in "$@"; do
	cmds+=("${arg%%=*}")
	pkgs+=("${arg#*=}")
done

start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
stamp="$outdir/$name.stamp"

# One build at a time per OUTDIR (parallel `make` or CI jobs share the cache).
exec 9>"$outdir/.$name.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

ldflags="-s -w${extra_ldflags:+ $extra_ldflags}"
inputs_hash() {
	{
		(cd "$moddir" && sha256sum go.mod go.sum ./*.go build.sh)
		sha256sum <"$self"
		"$go" version
		"$go" env GOOS GOARCH
		printf '%s\n' "$ldflags" "$@"
	} | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash "$@")"

uptodate() {
	[[ -z "${FORCE:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
	for c in "${cmds[@]}"; do
		[[ -x "$outdir/$c" ]] || return 1
	done
}
if uptodate; then
	echo "buildbin.sh: ${cmds[*]} in $outdir up to date; skipped in $(elapsed)s"
	exit 0
fi

p="${BUILD_P:-$(nproc)}"
if [[ -z "${BUILD_P:-}" && "$p" -gt 4 ]]; then
	p=4
fi

echo "buildbin.sh: building ${cmds[*]} ($want_version) into $outdir (-p $p)"
tmp="$(mktemp -d "$outdir/.$name.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
	cd "$moddir"
	# One go build per command: its output is named by the command, not by
	# the package path's last element (etcd's is "v3"). Packages shared
	# between commands hit the Go build cache.
	for i in "${!cmds[@]}"; do
		CGO_ENABLED=0 "$go" build -p "$p" -trimpath -ldflags "$ldflags" -o "$tmp/${cmds[$i]}" "${pkgs[$i]}"
	done
)
for c in "${cmds[@]}"; do
	got="$("$tmp/$c" --version | head -1)"
	if [[ "$got" != *"$want_version"* ]]; then
		echo "buildbin.sh: built $c reports '$got', want '$want_version'" >&2
		exit 1
	fi
	chmod 0755 "$tmp/$c"
	mv -f "$tmp/$c" "$outdir/$c"
done
echo "$want" >"$stamp"
echo "buildbin.sh: built ${cmds[*]} ($(du -ch "${cmds[@]/#/$outdir/}" | tail -1 | cut -f1)) in $(elapsed)s"
