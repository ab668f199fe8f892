#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one after the other, each for
# FUZZTIME (default 60s). Targets are found, not listed: any
# "func FuzzXxx(f *testing.F)" in a _test.go file is run, so a target added
# by anyone is fuzzed without touching this script.
#
#   scripts/fuzz.sh               # every target, FUZZTIME each
#   FUZZTIME=20s scripts/fuzz.sh  # what 'make fuzz-ci' runs
#   scripts/fuzz.sh -l            # list the targets only
#
# Exit status: non-zero when a target fails (a crasher: go test writes the
# failing input to PKG/testdata/fuzz/FuzzXxx/ for the regression corpus)
# or when no target is found.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-60s}"
# Minimizing a new interesting input takes 60s by default, which stalls a
# short run; crashers are still minimized within this bound.
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-5s}"
GO="${GO:-go}"

# "PKGDIR NAME" per target, sorted.
targets() {
	git ls-files --cached --others --exclude-standard -- '*_test.go' |
		xargs grep -H -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#; s#^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#. \1#' |
		sort -u
}

list=$(targets)
if [ -z "$list" ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi
if [ "${1:-}" = "-l" ]; then
	echo "$list"
	exit 0
fi

# corpus_state prints the target's failing-input files (new ones are crashers).
corpus_state() {
	ls -1 "$1/testdata/fuzz/$2" 2>/dev/null | sort || true
}

# fuzz_one runs one target. Go's fuzz engine, on a loaded machine, sometimes
# stops with "context deadline exceeded" while a worker starts or minimizes,
# having found nothing: no input is written. That is the engine giving up,
# not a bug in the target, so the run is tried again (up to 3 times); a
# failure that wrote an input, or any other failure, counts at once.
fuzz_one() {
	local dir=$1 name=$2 try log before after
	log=$(mktemp)
	for try in 1 2 3; do
		echo "=== fuzz ${dir}.${name} for ${FUZZTIME} (try ${try})"
		before=$(corpus_state "$dir" "$name")
		if "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "./${dir}" 2>&1 | tee "$log"; then
			rm -f "$log"
			return 0
		fi
		after=$(corpus_state "$dir" "$name")
		if [ "$before" != "$after" ] || ! grep -q 'context deadline exceeded' "$log"; then
			rm -f "$log"
			return 1
		fi
		echo "fuzz.sh: ${dir}.${name}: the fuzz engine stopped (context deadline exceeded) and wrote no failing input; trying again" >&2
	done
	rm -f "$log"
	echo "fuzz.sh: ${dir}.${name}: the engine stopped 3 times without a failing input" >&2
	return 1
}

failed=()
n=0
while read -r dir name; do
	n=$((n + 1))
	if ! fuzz_one "$dir" "$name"; then
		failed+=("${dir}.${name}")
	fi
done <<<"$list"

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz.sh: ${#failed[@]} of $n targets failed: ${failed[*]}" >&2
	echo "fuzz.sh: the failing inputs are under each package's testdata/fuzz/<target>/; commit them as regressions once fixed" >&2
	exit 1
fi
echo "fuzz.sh: $n targets, none failed"
