# ksdoctor — make run: build and sweep this machine; make test: all tests on real parts.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/ksdoctor
export CGO_ENABLED ?= 0

include testbed/kubeapiserver/kube.mk

.PHONY: fuzz fuzz-ci all build release run test unit deps systemd-tree vet fmt-check bench bench-startup bench-tui bench-cluster bench-net bench-exited clean docs demo demo-down

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ksdoctor

# The binary that ships to every node: no symbol table, no DWARF (stack
# traces keep their file:line), reproducible paths; prints its size.
release:
	$(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN) ./cmd/ksdoctor
	@stat -c '%n: %s bytes' $(BIN)

# Sweep this machine. Exit codes 1 and 2 mean findings, not a failed build.
run: build
	./$(BIN) sweep; rc=$$?; [ $$rc -le 2 ] || exit $$rc

deps:
	./scripts/install-deps.sh

# The Debian tree (systemd 252, dockerd 20.10) the real-systemd tests boot with
# systemd-nspawn: built once with debootstrap (about a minute), cached.
systemd-tree: deps
	./testbed/systemd/build-tree.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }

# Unit tests only (no root, no real parts).
unit:
	$(GO) test -short ./...

test: deps fmt-check vet build kube-apiserver-bin systemd-tree
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-ci

# Every fuzz target (scripts/fuzz.sh finds them all), FUZZTIME each.
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# What CI runs: each target for 20 s; a crasher fails the build.
fuzz-ci:
	FUZZTIME=20s FUZZMINIMIZETIME=2s ./scripts/fuzz.sh

# Every benchmark, each against the baseline its issue names, in the same run.
bench: deps build bench-startup bench-go bench-exited bench-tui bench-dockerconf bench-net bench-cluster

# Judging a snapshot of 2,000 containers; parsing 20,000 iptables rules.
bench-go:
	$(GO) test -run '^$$' -bench 'BenchmarkSweep2000Containers|BenchmarkParse' -benchmem -count 5 ./checks ./iptsave

# ksdoctor fix of 300 exited containers vs the seed's docker rm pipeline on a
# real dockerd, alternating on fresh sets (root).
bench-exited: build
	$(GO) test -run '^$$' -bench 'BenchmarkExitedRemove300' -benchtime 3x -timeout 60m ./cmd/ksdoctor

# One start of ksdoctor (--version, checks, a replay) beside a Go hello-world
# built the same way: wall, CPU, peak RSS, release size by module; and a
# sweep of a small node (real dockerd in a namespace) against its raw reads.
# Writes the Start-up section of docs/bench.md (root).
bench-startup:
	./scripts/bench-startup.sh

# Time to the TUI's first frame: a Bubble Tea program in-process, and the real
# binary in tmux against a real dockerd, with 'ksdoctor sweep' and
# 'ksdoctor --version' as baselines in the same run.
bench-tui: build
	$(GO) test -run '^$$' -bench 'FirstFrame' -benchtime 200x -count 1 ./tui
	$(GO) test -run '^$$' -bench 'TUIFirstFrameTmux' -benchtime 10x -count 1 -timeout 30m ./cmd/ksdoctor

clean:
	rm -rf bin

# Regenerate the user docs of every check from the registry.
docs: build
	./$(BIN) checks --format markdown > docs/checks.md

# Cluster benchmark on a real kube-apiserver (built once, cached): 200
# namespaces, 10,000 pods, 500 evicted; ksdoctor vs the seed's kubectl loops.
bench-cluster: kube-apiserver-bin
	KSDOCTOR_BENCH_CLUSTER=1 $(GO) test ./doctor -run '^$$' -bench 'BenchmarkCluster' -benchtime 1x -count 3 -timeout 60m -v

# The network part of a sweep against the raw reads (iptables-save, ip) on
# 20,000 nat rules and 200 veths in a namespace, in the same run (root).
bench-net: build
	./scripts/bench-net.sh

# A broken node (dockerd --iptables=false in a namespace, exited containers,
# a data-root past 90 %) and ksdoctor on it; demo-down removes all of it.
demo: build
	./scripts/demo.sh up

demo-down:
	./scripts/demo.sh down

# Effective dockerd configuration: resolution with 20 drop-ins, and a node sweep without
# and with the docker configuration checks, in the same run.
bench-dockerconf:
	$(GO) test -run '^$$' -bench 'BenchmarkDockerConf|BenchmarkParseDaemonJSON40k|BenchmarkDiffDaemonJSON' -benchmem -count 5 ./dockerconf/ ./doctor/
