#!/bin/sh
# bench-startup: what one start of ksdoctor costs, side by side with a Go
# hello-world built the same way (CGO_ENABLED=0, -trimpath, -ldflags '-s -w'),
# in the same run; then a sweep of a small node (a real dockerd in a network
# namespace, three exited containers) against the raw reads a person would
# type instead. Writes the "Start-up" section of docs/bench.md (between its
# markers, leaving other sections alone) with the machine's facts.
#
# Wall time: hyperfine. CPU time per start: perf stat task-clock when perf
# works here, else GNU time (10 ms resolution). Peak RSS: GNU time %M.
# The machine may be shared: the load average is recorded with the figures.
# Needs root for the small-node part (SMALL_NODE=0 leaves it out).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
RUNS=${RUNS:-40}
NODE_RUNS=${NODE_RUNS:-15}
SMALL_NODE=${SMALL_NODE:-1}
OUT=${OUT:-$TOP/docs/bench.md}
DIR=$(mktemp -d /tmp/ksdt-bench-startup.XXXXXX)
NS=ksdt-startup-$$
SOCK=$DIR/docker.sock
DPID=""

cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill "$DPID" 2>/dev/null || true
		i=0
		while kill -0 "$DPID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$DPID" 2>/dev/null || true
	fi
	# containerd and shims the daemon started, by PID, found by our paths.
	for p in /proc/[0-9]*; do
		if { tr "\0" " " < "$p/cmdline"; } 2>/dev/null | grep -q -- "$DIR/"; then
			kill -9 "${p#/proc/}" 2>/dev/null || true
		fi
	done
	grep " $DIR/" /proc/mounts 2>/dev/null | awk '{print length($2), $2}' | sort -rn | cut -d' ' -f2- |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

for tool in go hyperfine python3; do
	command -v "$tool" >/dev/null || { echo "bench-startup: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench-startup: GNU time (/usr/bin/time) is missing (make deps)" >&2; exit 1; }

say() { echo "bench-startup: $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# The two programs, built the same way.
mkdir -p "$DIR/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, world") }\n' > "$DIR/hello/main.go"
printf 'module hello\n\ngo 1.22\n' > "$DIR/hello/go.mod"
export CGO_ENABLED=0
(cd "$DIR/hello" && go build -trimpath -ldflags '-s -w' -o "$DIR/hello-bin" .)
VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$DIR/ksdoctor" ./cmd/ksdoctor
go build -trimpath -ldflags "-X main.version=$VERSION" -o "$DIR/ksdoctor-syms" ./cmd/ksdoctor
KSD=$DIR/ksdoctor
SNAP=$TOP/fixtures/healthy/snapshot.json
say "built $(stat -c %s "$KSD") bytes (ksdoctor) and $(stat -c %s "$DIR/hello-bin") bytes (hello-world)"

LOAD0=$(load)
say "load average $LOAD0; wall time, $RUNS runs each"
hyperfine -N --style basic --warmup 5 --runs "$RUNS" --export-json "$DIR/start.json" \
	-n hello-world "$DIR/hello-bin" \
	-n "ksdoctor --version" "$KSD --version" \
	-n "ksdoctor checks" "$KSD checks" \
	-n "ksdoctor sweep --from (replay)" "$KSD sweep --from $SNAP --format json" >&2

# CPU time and peak RSS per start.
PERF=0
if command -v perf >/dev/null && perf stat -x, -e task-clock true 2>/dev/null >/dev/null; then PERF=1; fi
measure() { # name argv...: prints "name<TAB>cpu_ms<TAB>rss_kb"
	name=$1; shift
	# The median of single runs: a shared machine's outliers would move a mean.
	cpu=$(i=0; while [ $i -lt "$RUNS" ]; do
		if [ $PERF = 1 ]; then
			perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '$3=="task-clock"{print $1}'
		else
			/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f\n", ($1+$2)*1000}'
		fi
		i=$((i + 1))
	done | sort -n | awk '{v[NR]=$1} END{printf "%.2f", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
	rss=$(i=0; while [ $i -lt 11 ]; do /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; i=$((i + 1)); done | sort -n | sed -n 6p)
	printf '%s\t%s\t%s\n' "$name" "$cpu" "$rss"
}
{
	measure hello-world "$DIR/hello-bin"
	measure "ksdoctor --version" "$KSD" --version
	measure "ksdoctor checks" "$KSD" checks
	measure "ksdoctor sweep --from (replay)" "$KSD" sweep --from "$SNAP" --format json
} > "$DIR/cpu.tsv"
LOAD1=$(load)

# Alternating rounds: the machine's load moves between hyperfine's blocks
# of runs, so the ratio is also taken per round (ROUNDS rounds of
# ROUND_RUNS runs of each, the order flipped every round).
ROUNDS=${ROUNDS:-10}
ROUND_RUNS=${ROUND_RUNS:-30}
r=1
: > "$DIR/rounds.tsv"
while [ $r -le "$ROUNDS" ]; do
	l=$(load)
	if [ $((r % 2)) = 1 ]; then
		set -- -n hello-world "$DIR/hello-bin" -n "ksdoctor --version" "$KSD --version"
	else
		set -- -n "ksdoctor --version" "$KSD --version" -n hello-world "$DIR/hello-bin"
	fi
	hyperfine -N --style none --warmup 3 --runs "$ROUND_RUNS" --export-json "$DIR/round.json" "$@" >/dev/null 2>&1
	python3 - "$DIR/round.json" "$l" >> "$DIR/rounds.tsv" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1e3 for x in json.load(open(sys.argv[1]))["results"]}
print("%.3f\t%.3f\t%s" % (r["hello-world"], r["ksdoctor --version"], sys.argv[2]))
PY
	r=$((r + 1))
done
ROUNDS_MD=$(python3 - "$DIR/rounds.tsv" "$ROUND_RUNS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
ratios = [float(k) / float(h) for h, k, _ in rows]
print("Alternating rounds (%d rounds of %s runs of each, the order flipped every round; ratio of the round's medians): "
      "`ksdoctor --version` / hello-world wall **%.1f×** median, range %.1f–%.1f× (goal ≤ 3×: %s); hello-world %.2f ms, "
      "ksdoctor %.2f ms (medians of the rounds' medians). Load average (1, 5, 15 min) per round: %s."
      % (len(rows), sys.argv[2], statistics.median(ratios), min(ratios), max(ratios),
         "met" if statistics.median(ratios) <= 3 else "not met",
         statistics.median(float(h) for h, _, _ in rows), statistics.median(float(k) for _, k, _ in rows),
         "; ".join(l for _, _, l in rows)))
PY
)

# Where the bytes go: symbol sizes by module (an unstripped twin of the
# release binary; the stripped one keeps pclntab, which follows the code).
go list -deps -f '{{.ImportPath}} {{with .Module}}{{.Path}}{{else}}std{{end}}' ./cmd/ksdoctor > "$DIR/pkgmod.txt"
go tool nm -size "$DIR/ksdoctor-syms" > "$DIR/nm.txt"
BSS=$(readelf -SW "$DIR/ksdoctor-syms" 2>/dev/null | awk '$2==".bss"{print $4}')
python3 - "$DIR/pkgmod.txt" "$DIR/nm.txt" "${BSS:-0}" > "$DIR/size.tsv" <<'PY'
import re, sys
mod = dict(l.split() for l in open(sys.argv[1]) if len(l.split()) == 2)
bss = int(sys.argv[3], 16)
tot, allsz = {}, 0
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) < 4 or f[2] == "U" or int(f[0], 16) >= bss:
        continue
    size, name = int(f[1]), f[3]
    n = re.sub(r"^(type:|go:(itab|info|string|cuinfo)\.)\**", "", name).lstrip("*")
    n = re.split(r"[(\[]", n, 1)[0]
    slash = n.rfind("/")
    dot = n.find(".", slash + 1)
    pkg = n[:dot] if dot > 0 else n
    m = mod.get(pkg, "runtime, linker and unattributed")
    tot[m] = tot.get(m, 0) + size
    allsz += size
for m, s in sorted(tot.items(), key=lambda x: -x[1])[:14]:
    print("%s\t%.2f\t%.0f" % (m, s / 1048576, 100.0 * s / allsz))
PY

# A small node: a real dockerd in a network namespace, three exited containers.
NODE_MD=""
if [ "$SMALL_NODE" = 1 ]; then
	for tool in dockerd docker ip nsenter busybox iptables-save; do
		command -v "$tool" >/dev/null || { echo "bench-startup: $tool is missing (make deps), or SMALL_NODE=0" >&2; exit 1; }
	done
	[ "$(id -u)" = 0 ] || { echo "bench-startup: the small node needs root (or SMALL_NODE=0)" >&2; exit 1; }
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	mkdir -p "$DIR/data" "$DIR/exec" "$DIR/rootfs/bin"
	echo '{}' > "$DIR/daemon.json"
	nsenter --net="/var/run/netns/$NS" dockerd --data-root "$DIR/data" --exec-root "$DIR/exec" \
		-H "unix://$SOCK" --pidfile "$DIR/docker.pid" --config-file "$DIR/daemon.json" \
		--exec-opt native.cgroupdriver=cgroupfs </dev/null >"$DIR/dockerd.log" 2>&1 &
	DPID=$!
	i=0
	until docker -H "unix://$SOCK" version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || { tail -20 "$DIR/dockerd.log" >&2; exit 1; }
		sleep 0.1
	done
	cp "$(command -v busybox)" "$DIR/rootfs/bin/busybox"
	ln -s busybox "$DIR/rootfs/bin/sh"
	tar -C "$DIR/rootfs" -c . | docker -H "unix://$SOCK" import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - ksdoctor/busybox:bench >/dev/null
	for n in 1 2 3; do
		docker -H "unix://$SOCK" run --name "job-$n" ksdoctor/busybox:bench sh -c "exit $((n % 2))" >/dev/null 2>&1 || true
	done
	IN="nsenter --net=/var/run/netns/$NS --"
	D="docker -H unix://$SOCK"
	# The floor: what a person types for the same facts, each once.
	FLOOR="$IN sh -c '$D info >/dev/null; $D ps -a >/dev/null; $D system df >/dev/null; df -P >/dev/null; \
iptables-save -t nat >/dev/null; iptables-save -t filter >/dev/null; ip -d link >/dev/null; ip route >/dev/null; \
sysctl net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables >/dev/null 2>&1; cat /proc/$DPID/cmdline $DIR/daemon.json >/dev/null'"
	SWEEP="$IN env -u KUBECONFIG $KSD sweep --docker-host unix://$SOCK --dockerd-pidfile $DIR/docker.pid --format json -o $DIR/node.json"
	LOAD2=$(load)
	say "small node: load average $LOAD2; $NODE_RUNS runs each"
	hyperfine --style basic --warmup 2 --runs "$NODE_RUNS" -i --export-json "$DIR/node-bench.json" \
		-n "raw reads" "$FLOOR" -n "ksdoctor sweep" "$SWEEP" >&2
	NODE_MD=$(python3 - "$DIR/node-bench.json" "$DIR/node.json" "$LOAD2 → $(load)" <<'PY'
import json, statistics, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rep = json.load(open(sys.argv[2]))
f, s = r["raw reads"], r["ksdoctor sweep"]
med = lambda x: statistics.median(x["times"]) * 1e3
print("| command | wall median (ms) | range (ms) | CPU mean (ms) |")
print("|---|---:|---:|---:|")
for name, x in (("raw reads: `docker info`, `docker ps -a`, `docker system df`, `df`, `iptables-save` nat and filter, `ip -d link`, `ip route`, `sysctl`, dockerd's cmdline and daemon.json", f),
                ("`ksdoctor sweep` (every check, JSON report)", s)):
    print("| %s | %.1f | %.1f–%.1f | %.1f |" % (name, med(x), x["min"] * 1e3, x["max"] * 1e3, (x["user"] + x["system"]) * 1e3))
print()
print("Ratio sweep / raw reads (wall, median): **%.2f×** (goal ≤ 1.5×). Load average during the pair: %s. "
      "The last sweep's sources: %s." % (med(s) / med(f), sys.argv[3],
      ", ".join("%s %s ms%s" % (x["source"], x.get("durationMs", 0), "" if x.get("ok") else " (failed)") for x in rep["sources"])))
PY
)
fi

python3 - "$DIR/start.json" "$DIR/cpu.tsv" "$DIR/size.tsv" "$KSD" "$DIR/hello-bin" "$OUT" "$LOAD0 → $LOAD1" "$PERF" "$NODE_MD" "$ROUNDS_MD" <<'PY'
import json, os, platform, re, statistics, subprocess, sys, time
start, cpu, size, ksd, hello, out, load, perf, node, rounds = sys.argv[1:11]
res = {x["command"]: x for x in json.load(open(start))["results"]}
cpus = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(cpu)}
med = lambda x: statistics.median(x["times"]) * 1e3
hw = med(res["hello-world"])
mem = next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
gov = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
L = []
L.append("## Start-up\n")
L.append("Written by `make bench-startup` (scripts/bench-startup.sh) on %s. Machine: %d cores (%s), %.1f GiB memory, "
         "Linux %s, %s. Load average (1, 5, 15 min) at the start → end of the start-up runs: %s. "
         "Both programs are built the same way: `CGO_ENABLED=0 go build -trimpath -ldflags '-s -w'`.\n"
         % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), model, int(mem) / 1048576,
            platform.release(), gov, load))
L.append("Before/after figures and what is left: [startup.md](startup.md).\n")
L.append("| command | wall median (ms) | range (ms) | × hello-world (wall) | CPU per start (ms) | peak RSS (MiB) |")
L.append("|---|---:|---:|---:|---:|---:|")
for name, x in res.items():
    c, rss = cpus[name]
    L.append("| `%s` | %.1f | %.1f–%.1f | %.1f | %s | %.1f |" % (name, med(x), x["min"] * 1e3, x["max"] * 1e3, med(x) / hw, c, int(rss) / 1024))
v = res["ksdoctor --version"]
vc = float(cpus["ksdoctor --version"][0])
L.append("")
L.append("Goals: `ksdoctor --version` ≤ 8 ms CPU: **%.1f ms** (%s); ≤ 3× the hello-world's wall time: **%.1f×** (%s). "
         "CPU time is %s.\n" % (vc, "met" if vc <= 8 else "not met", med(v) / hw, "met" if med(v) / hw <= 3 else "not met",
         "perf stat's task-clock, median of single runs" if perf == "1" else "GNU time user+system (10 ms resolution), median of single runs"))
L.append(rounds + "\n")
L.append("Release binary: **%.1f MiB** (hello-world %.1f MiB). Where its bytes go (symbol sizes of the unstripped twin, by module; "
         "the stripped binary also keeps the line table, which grows with the code):\n" % (os.path.getsize(ksd) / 1048576, os.path.getsize(hello) / 1048576))
L.append("| module | symbols (MiB) | share |")
L.append("|---|---:|---:|")
for l in open(size):
    m, mb, pct = l.rstrip("\n").split("\t")
    L.append("| %s | %s | %s %% |" % (m, mb, pct))
L.append("")
if node:
    L.append("### A small node: `ksdoctor sweep` against its raw reads\n")
    L.append("A real dockerd in a network namespace (this machine's kernel and filesystems), three exited containers; "
             "both sides run in that namespace.\n")
    L.append(node)
    L.append("")
section = "\n".join(L).rstrip() + "\n"
begin, end = "<!-- bench-startup: begin -->", "<!-- bench-startup: end -->"
doc = open(out).read() if os.path.exists(out) else "# ksdoctor benchmarks\n\nEach section is written by its `make` target; figures are from one run on the machine named in it.\n"
block = begin + "\n" + section + end
if begin in doc and end in doc:
    doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip() + "\n\n" + block + "\n"
open(out, "w").write(doc)
print(section)
PY
say "wrote the Start-up section of $OUT"
