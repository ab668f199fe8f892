# ksdoctor — make run: build and sweep this machine; make test: all tests on real parts.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/ksdoctor
export CGO_ENABLED ?= 0

.PHONY: all build run test unit deps vet fmt-check bench clean docs bench-net demo demo-down

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ksdoctor

# Sweep this machine. Exit codes 1 and 2 mean findings, not a failed build.
run: build
	./$(BIN) sweep; rc=$$?; [ $$rc -le 2 ] || exit $$rc

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }

# Unit tests only (no root, no real parts).
unit:
	$(GO) test -short ./...

test: deps fmt-check vet build
	$(GO) test -count=1 -timeout 30m ./...

bench: deps build bench-net
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 60m ./...

clean:
	rm -rf bin

# Regenerate the user docs of every check from the registry.
docs: build
	./$(BIN) checks --format markdown > docs/checks.md

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
