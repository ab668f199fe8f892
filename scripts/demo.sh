#!/bin/sh
# demo.sh up|down: a broken KubeSphere-era node in two minutes, then
# ksdoctor on it. Everything lives under ./.demo and in two network
# namespaces (ksdt-net-demo-node, ksdt-net-demo-out); "down" removes it all
# by PID, mount and namespace.
#
# The node: the seed's docker-options.conf under a demo host root, dockerd
# with --iptables=false in the node namespace, an "outside" host at
# 203.0.113.10:8080 behind the node's default gateway, a hand-started
# container that cannot reach it, exited containers, and a 256 MiB tmpfs
# data-root filled past 90 %.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
DEMO=$TOP/.demo
ROOT=$DEMO/root
NODE=ksdt-net-demo-node
OUT=ksdt-net-demo-out
DATA=$DEMO/data
SOCK=$DEMO/docker.sock
PIDFILE=$DEMO/root/run/docker.pid # /run/docker.pid as the node (host root) sees it
BIN=$TOP/bin/ksdoctor
IMG=ksdoctor/busybox:demo

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
docker_() { docker -H "unix://$SOCK" "$@"; }

down() {
	say "removing the demo node"
	for f in "$DEMO/httpd.pid" "$PIDFILE"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	# Shims and containerd started for the demo daemon (by PID, found by our paths).
	for p in /proc/[0-9]*; do
		if { tr "\0" " " < "$p/cmdline"; } 2>/dev/null | grep -q -- "$DEMO/"; then
			kill -9 "${p#/proc/}" 2>/dev/null || true
		fi
	done
	if [ -d "$DATA" ]; then
		grep " $DATA" /proc/mounts | awk '{print length($2), $2}' | sort -rn | cut -d' ' -f2- | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
	fi
	grep " $DEMO/" /proc/mounts | awk '{print length($2), $2}' | sort -rn | cut -d' ' -f2- | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	ip netns del "$NODE" 2>/dev/null || true
	ip netns del "$OUT" 2>/dev/null || true
	rm -rf "$DEMO"
}

up() {
	[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, mounts, dockerd)" >&2; exit 1; }
	for t in dockerd docker ip nsenter busybox iptables mount; do
		command -v "$t" >/dev/null || { echo "demo: $t is missing (make deps)" >&2; exit 1; }
	done
	[ -x "$BIN" ] || { echo "demo: build $BIN first (make build)" >&2; exit 1; }
	[ ! -e "$DEMO" ] || down
	mkdir -p "$ROOT/etc/systemd/system/docker.service.d" "$ROOT/lib/systemd/system" "$ROOT/etc/sysctl.d" "$ROOT/etc/docker" "$DATA"
	printf '[Unit]\nDescription=Docker Application Container Engine\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n' > "$ROOT/lib/systemd/system/docker.service"

	say "host root $ROOT with the kubespray-era docker-options.conf"
	cat > "$ROOT/etc/systemd/system/docker.service.d/docker-options.conf" <<CONF
[Service]
Environment="DOCKER_OPTS= --iptables=false --exec-opt native.cgroupdriver=cgroupfs --data-root=$DATA --log-opt max-size=50m --log-opt max-file=5"
CONF
	printf '{\n  "log-opts": {"max-size": "100m"}\n}\n' > "$ROOT/etc/docker/daemon.json"
	# The node's /proc, bind-mounted (a link out of the host root would be refused).
	mkdir -p "$ROOT/proc"
	mount --bind /proc "$ROOT/proc"
	mkdir -p "$ROOT/run" "$ROOT$DATA"

	say "namespaces: $NODE (the node) and $OUT (a host beyond the gateway)"
	ip netns add "$NODE"
	ip netns add "$OUT"
	ip -n "$NODE" link set lo up
	ip -n "$OUT" link set lo up
	ip -n "$NODE" link add eth0 type veth peer name eth0 netns "$OUT"
	ip -n "$NODE" addr add 10.97.0.2/24 dev eth0
	ip -n "$OUT" addr add 10.97.0.1/24 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$OUT" link set eth0 up
	ip -n "$NODE" route add default via 10.97.0.1
	ip -n "$OUT" addr add 203.0.113.10/32 dev lo
	mkdir -p "$DEMO/www"
	echo "hello from outside the node" > "$DEMO/www/index.html"
	nsenter --net="/var/run/netns/$OUT" busybox httpd -f -p 203.0.113.10:8080 -h "$DEMO/www" </dev/null >"$DEMO/httpd.log" 2>&1 &
	echo $! > "$DEMO/httpd.pid"

	say "a 256 MiB tmpfs data-root, dockerd --iptables=false in $NODE"
	mount -t tmpfs -o size=256m ksdt-net-demo "$DATA"
	# dockerd reports its data-root as $DATA; under the host root that is $ROOT$DATA.
	mount --bind "$DATA" "$ROOT$DATA"
	echo '{}' > "$DEMO/daemon.json"
	nsenter --net="/var/run/netns/$NODE" dockerd --data-root "$DATA" --exec-root "$DEMO/exec" \
		-H "unix://$SOCK" --pidfile "$PIDFILE" --config-file "$DEMO/daemon.json" \
		--iptables=false --exec-opt native.cgroupdriver=cgroupfs --log-opt max-size=50m --log-opt max-file=5 </dev/null >"$DEMO/dockerd.log" 2>&1 &
	i=0
	until docker_ version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || { tail -20 "$DEMO/dockerd.log"; exit 1; }
		sleep 0.1
	done

	say "a busybox image from the host's busybox, a hand-started container, exited jobs"
	mkdir -p "$DEMO/rootfs/bin"
	cp "$(command -v busybox)" "$DEMO/rootfs/bin/busybox"
	for a in sh sleep nc wget printf cat echo; do ln -sf busybox "$DEMO/rootfs/bin/$a"; done
	tar -C "$DEMO/rootfs" -c . | docker_ import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$IMG" >/dev/null
	docker_ run -d --name ci-agent-build "$IMG" sleep 86400 >/dev/null
	for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
		docker_ run --name "nightly-job-$n" "$IMG" sh -c "exit $((n % 3))" >/dev/null 2>&1 || true
	done
	if docker_ exec ci-agent-build sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 203.0.113.10 8080" >/dev/null 2>&1; then
		echo "demo: the container reached the outside host: the demo is not broken" >&2
	else
		echo "   ci-agent-build (on docker0) cannot reach 203.0.113.10:8080; pods would"
	fi
	say "filling the data-root past 90 %"
	avail=$(df -k --output=size,used "$DATA" | tail -1 | awk '{printf "%d", $1 * 0.92 - $2}')
	[ "$avail" -gt 0 ] && dd if=/dev/zero of="$DATA/filler" bs=1024 count="$avail" status=none || true
	df -h "$DATA" | tail -1

	cat > "$DEMO/ksdoctor" <<WRAP
#!/bin/sh
# ksdoctor on the demo node (its network namespace, host root and dockerd).
exec nsenter --net=/var/run/netns/$NODE -- "$BIN" --host-root "$ROOT" --docker-host "unix://$SOCK" --dockerd-pidfile /run/docker.pid "\$@"
WRAP
	chmod +x "$DEMO/ksdoctor"
	say "ksdoctor on the demo node"
	"$DEMO/ksdoctor" "$@" || true
	cat <<HINT

Try:  .demo/ksdoctor sweep --probe --probe-image $IMG --probe-target 203.0.113.10:8080
      .demo/ksdoctor fix net.docker0-masquerade-missing/add-rule --probe --probe-image $IMG --probe-target 203.0.113.10:8080
      .demo/ksdoctor fix docker.exited-containers/remove
Done: make demo-down
HINT
}

case "${1:-up}" in
up) shift 2>/dev/null || true; up "$@" ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
