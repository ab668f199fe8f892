#!/usr/bin/env bash
# Lists what the commits since BASE (default: origin/main or the first
# commit) add that is large: a submission is limited in size, and anything a
# script can make again stays out of the repository. Exits 1 when a file over
# 1 MiB was added or the diff text passes 32 MiB.
set -euo pipefail
base=${1:-$(git rev-parse -q --verify origin/main || git rev-list --max-parents=0 HEAD | tail -1)}
big=$(git diff --numstat "$base" HEAD | awk '$1=="-"{print "binary: " $3}')
large=$(git diff --name-only --diff-filter=AM "$base" HEAD | while read -r f; do
  [ -f "$f" ] && s=$(stat -c %s "$f") && [ "$s" -gt 1048576 ] && echo "$s $f"; done || true)
text=$(git diff "$base" HEAD | wc -c)
echo "diff text since $base: $text bytes"
[ -n "$big" ] && echo "$big"
[ -n "$large" ] && { echo "files over 1 MiB:"; echo "$large"; exit 1; }
[ "$text" -gt 33554432 ] && { echo "diff text over 32 MiB"; exit 1; }
exit 0
