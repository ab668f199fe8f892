#!/bin/sh
# bench-net: the network part of a sweep against the floor, in the same run.
# In a fresh network namespace: 20,000 nat rules in kube-proxy-like chains
# (loaded with iptables-restore), 200 veth interfaces (100 pairs, half on a
# docker0 bridge), and a docker0 bridge. Floor: the raw reads a human would
# do (iptables-save -t nat, iptables-save -t filter, ip -d link, ip route).
# Measured with hyperfine; goal: the sweep takes at most 1.2x the floor.
set -eu
BIN=${BIN:-./bin/ksdoctor}
SERVICES=${SERVICES:-1820}   # 11 nat rules per service: 20,020 rules
PAIRS=${PAIRS:-100}
RUNS=${RUNS:-20}
NS=ksdt-net-bench-$$
DIR=$(mktemp -d /tmp/ksdt-net-bench.XXXXXX)

cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

for tool in hyperfine iptables-restore iptables-save ip nsenter; do
	command -v "$tool" >/dev/null || { echo "bench-net: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench-net: build $BIN first (make build)" >&2; exit 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
{
	echo "link add docker0 type bridge"
	echo "addr add 172.17.0.1/16 dev docker0"
	echo "link set docker0 up"
	i=0
	while [ $i -lt "$PAIRS" ]; do
		echo "link add veth$i type veth peer name cali$i"
		if [ $((i % 2)) -eq 0 ]; then echo "link set veth$i master docker0"; fi
		echo "link set veth$i up"
		echo "link set cali$i up"
		echo "route add 10.233.$((64 + i / 250)).$((i % 250 + 1))/32 dev cali$i scope link"
		i=$((i + 1))
	done
} > "$DIR/links.batch"
ip -n "$NS" -batch "$DIR/links.batch"

awk -v n="$SERVICES" 'BEGIN {
	print "*nat"
	print ":PREROUTING ACCEPT [0:0]"; print ":INPUT ACCEPT [0:0]"; print ":OUTPUT ACCEPT [0:0]"; print ":POSTROUTING ACCEPT [0:0]"
	print ":KUBE-SERVICES - [0:0]"; print ":KUBE-MARK-MASQ - [0:0]"; print ":KUBE-POSTROUTING - [0:0]"
	for (s = 0; s < n; s++) {
		printf ":KUBE-SVC-%08X - [0:0]\n", s
		for (e = 0; e < 3; e++) printf ":KUBE-SEP-%08X%d - [0:0]\n", s, e
	}
	print "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
	print "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
	print "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
	print "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
	print "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
	print "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
	print "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
	for (s = 0; s < n; s++) {
		ip = sprintf("10.233.%d.%d", int(s / 250), s % 250 + 1)
		printf "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%08X\n", ip, s % 50, s, s
		printf "-A KUBE-SVC-%08X ! -s 10.233.64.0/18 -d %s/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", s, ip, s % 50, s
		for (e = 0; e < 3; e++) {
			pod = sprintf("10.233.%d.%d", 64 + int((s * 3 + e) / 250) % 64, (s * 3 + e) % 250 + 1)
			if (e < 2) printf "-A KUBE-SVC-%08X -m comment --comment \"ns%d/svc%d:http\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-%08X%d\n", s, s % 50, s, s, e
			else printf "-A KUBE-SVC-%08X -m comment --comment \"ns%d/svc%d:http\" -j KUBE-SEP-%08X%d\n", s, s % 50, s, s, e
			printf "-A KUBE-SEP-%08X%d -s %s/32 -m comment --comment \"ns%d/svc%d:http\" -j KUBE-MARK-MASQ\n", s, e, pod, s % 50, s
			printf "-A KUBE-SEP-%08X%d -p tcp -m comment --comment \"ns%d/svc%d:http\" -m tcp -j DNAT --to-destination %s:8080\n", s, e, s % 50, s, pod
		}
	}
	print "COMMIT"
}' > "$DIR/nat.rules"
ip netns exec "$NS" iptables-restore < "$DIR/nat.rules"
ip netns exec "$NS" iptables -P FORWARD ACCEPT
rules=$(ip netns exec "$NS" iptables-save -t nat | grep -c '^-A')
links=$(ip -n "$NS" -o link show type veth | wc -l)
echo "bench-net: namespace $NS: $rules nat rules, $links veth interfaces, iptables backend: $(iptables --version)"

CHECKS=net.docker0-masquerade-missing,net.ip-forward-disabled,net.bridge-nf-call-iptables,net.forward-policy-drop,net.docker0-cidr-overlap,net.docker0-vs-pod-routing,net.iptables-backend-mismatch
NSENTER="nsenter --net=/var/run/netns/$NS --"
FLOOR="$NSENTER sh -c 'iptables-save -t nat >/dev/null; iptables-save -t filter >/dev/null; ip -d link >/dev/null; ip route >/dev/null'"
printf 'timeouts:\n  source: 60s\n  sweep: 120s\n' > "$DIR/cfg.yaml"
SWEEP="$NSENTER $BIN sweep --config $DIR/cfg.yaml --checks $CHECKS --docker-host unix://$DIR/no-docker.sock --dockerd-pidfile /nonexistent.pid --format json -o $DIR/report.json"

hyperfine --style basic --warmup 3 --runs "$RUNS" -i --export-json "$DIR/bench.json" \
	-n floor "$FLOOR" -n "ksdoctor sweep (net checks)" "$SWEEP"

python3 - "$DIR/bench.json" "$DIR/report.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor, sweep = r["floor"]["mean"], r["ksdoctor sweep (net checks)"]["mean"]
rep = json.load(open(sys.argv[2]))
bad = [s for s in rep["sources"] if not s["ok"] and s["source"] == "net"]
if bad:
    sys.exit("bench-net: the net source failed: %s" % bad[0].get("error"))
print("bench-net: last sweep's sources: " + ", ".join("%s %d ms" % (s["source"], s["durationMs"]) for s in rep["sources"]))
f, w = r["floor"], r["ksdoctor sweep (net checks)"]
print("bench-net: floor %.1f ms (cpu %.0f ms), sweep %.1f ms (cpu %.0f ms), wall ratio %.2fx (goal <= 1.20x), cpu ratio %.2fx; %d findings" % (
    floor * 1e3, (f["user"] + f["system"]) * 1e3, sweep * 1e3, (w["user"] + w["system"]) * 1e3, sweep / floor,
    (w["user"] + w["system"]) / (f["user"] + f["system"]), len(rep["findings"])))
PY
