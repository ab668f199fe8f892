# ksdoctor — make run: build and sweep this machine; make test: all tests on real parts.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/ksdoctor
export CGO_ENABLED ?= 0

include testbed/kubeapiserver/kube.mk

.PHONY: bench-fleet image image-bin image-tar fuzz fuzz-ci all build release run test unit deps systemd-tree vet fmt-check bench bench-startup bench-tui bench-cluster bench-net bench-node bench-exited clean docs demo demo-down

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ksdoctor

# The binary that ships to every node: no symbol table, no DWARF (stack
# traces keep their file:line), reproducible paths; prints its size.
release:
	$(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN) ./cmd/ksdoctor
	@stat -c '%n: %s bytes' $(BIN)

# The image `sweep --all-nodes` runs on every node: the static binary on an
# empty base (Dockerfile; nothing is pulled). `make image` builds it with
# the local Docker; `make image-tar` writes the same image as a tar without
# any daemon (cmd/imagetar), for `docker load -i` or
# `ctr -n k8s.io images import` on air-gapped nodes.
IMAGE     ?= ksdoctor:$(VERSION)
IMAGE_TAR ?= bin/ksdoctor-image.tar

image-bin:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/image/ksdoctor ./cmd/ksdoctor

image: image-bin
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker daemon answers; 'make image-tar' writes the same image without one" >&2; exit 1; }
	docker build -t $(IMAGE) -f Dockerfile bin/image

image-tar: image-bin
	$(GO) run ./cmd/imagetar -ref $(IMAGE) -o $(IMAGE_TAR) -entrypoint /ksdoctor -user 0:0 \
		-label org.opencontainers.image.title=ksdoctor \
		-label "org.opencontainers.image.description=Node doctor for Kubernetes nodes running Docker" \
		bin/image/ksdoctor:/ksdoctor
	@stat -c '%n: %s bytes ($(IMAGE))' $(IMAGE_TAR)

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

test: deps fmt-check vet build kube-apiserver-bin kube-node-bin systemd-tree
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
# The real-part ones (root) write their sections of docs/bench.md; each
# runs 3 sizes. BENCH_PAIRS sets the alternating pairs per size, BENCH_SIZES
# (e.g. 1,3) the sizes. Not part of 'make test': it takes about an hour.
BENCH_DOC   := $(CURDIR)/docs/bench.md
BENCH_PAIRS ?=
BENCH_SIZES ?=
BENCH_ENV   := CI=true KSDOCTOR_BENCH_DOC=$(BENCH_DOC) KSDOCTOR_BENCH_PAIRS=$(BENCH_PAIRS) KSDOCTOR_BENCH_SIZES=$(BENCH_SIZES)
bench: deps build bench-startup bench-go bench-node bench-exited bench-tui bench-dockerconf bench-net bench-cluster

# Judging a snapshot of 2,000 containers; parsing 20,000 iptables rules.
bench-go:
	$(GO) test -run '^$$' -bench 'BenchmarkSweep2000Containers|BenchmarkParse' -benchmem -count 5 ./checks ./iptsave

# ksdoctor fix of 250, 500, 1,000 exited containers vs docker container prune
# and the seed's docker rm pipeline on a real dockerd, taking turns on fresh
# sets (root). Writes its section of docs/bench.md.
bench-exited: build
	$(BENCH_ENV) $(GO) test -run '^$$' -bench 'BenchmarkExitedRemove' -benchtime 1x -timeout 120m ./cmd/ksdoctor

# The full node sweep vs its raw reads on a big node (up to 20,020 nat rules,
# 2,000 containers, 200 veths, 500 images) built in a namespace with a real
# dockerd, at 3 sizes (root). Writes its section of docs/bench.md.
bench-node: build
	$(BENCH_ENV) $(GO) test -run '^$$' -bench 'BenchmarkBigNode' -benchtime 1x -timeout 120m ./cmd/ksdoctor

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

# Cluster benchmark on a real kube-apiserver (built once, cached), a fresh one
# per size: up to 50,000 pods in 500 namespaces (2,000 evicted, 200
# crash-looping) and 2,000 TLS Ingresses; the ksdoctor binary's sweep and
# evicted-pod fix vs the seed's kubectl loops. Writes its section of docs/bench.md.
bench-cluster: kube-apiserver-bin
	$(BENCH_ENV) KSDOCTOR_BENCH_CLUSTER=1 $(GO) test ./doctor -run '^$$' -bench '^BenchmarkCluster$$' -benchtime 1x -timeout 180m -v

# sweep --all-nodes on the real apiserver: 200 Node objects with the status-patch
# stand-in, then one real kubelet node + 199 without (docs/bench-fleet.md; root).
bench-fleet: kube-apiserver-bin kube-node-bin
	$(GO) test -run '^$$' -bench 'BenchmarkFleet200Nodes|BenchmarkFleetRealKubelet' -benchtime 3x -timeout 60m ./cmd/ksdoctor

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

# A man page for every command, generated from the command tree into
# build/man/man1 (never committed): the generator is linked only with -tags man.
.PHONY: man
man:
	rm -rf build/man && mkdir -p build/man/man1
	$(GO) run -tags man ./cmd/ksdoctor man --dir build/man/man1

# A release in $(DIST): static binaries for linux/amd64 and linux/arm64,
# per architecture a tar.gz (the krew archive), a .deb and an .rpm (nfpm,
# in scripts/dist: a module of its own, no dependency of ksdoctor), the
# krew manifest filled in, the container image tar (make image-tar; leave
# it out with DIST_IMAGE=) and SHA256SUMS over all of it.
DIST       ?= dist
DIST_IMAGE ?= $(DIST)/ksdoctor-image-linux-amd64.tar
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
.PHONY: dist
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)/.stage/man1
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(DIST)/ksdoctor-linux-$$arch ./cmd/ksdoctor || exit 1; \
	done
	$(GO) run -tags man ./cmd/ksdoctor man --dir $(DIST)/.stage/man1 >/dev/null
	$(if $(DIST_IMAGE),$(MAKE) image-tar IMAGE_TAR=$(DIST_IMAGE))
	cd scripts/dist && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run . -dir $(abspath $(DIST)) -version $(VERSION) \
	  -krew $(abspath deploy/krew/ksdoctor.yaml) -nfpm $(abspath scripts/dist/nfpm.yaml)
	cd $(DIST) && sha256sum -c --quiet SHA256SUMS && ls -l
