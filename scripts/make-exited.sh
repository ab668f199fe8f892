#!/usr/bin/env bash
# make-exited.sh DOCKER_HOST IMAGE COUNT: removes every stopped container, then
# creates COUNT containers that exit at once (a fresh set for a benchmark run).
set -euo pipefail
host=$1 image=$2 count=$3
docker=(docker -H "$host")
stale=$("${docker[@]}" ps -aq --filter status=exited)
[ -z "$stale" ] || "${docker[@]}" rm $stale >/dev/null
seq "$count" | xargs -P 8 -I{} "${docker[@]}" run -d --name "bench-{}" "$image" true >/dev/null
for _ in $(seq 300); do
  [ "$("${docker[@]}" ps -q --filter name=bench- | wc -l)" -eq 0 ] && exit 0
  sleep 0.1
done
echo "make-exited: containers still running" >&2
exit 1
