# Makefile fragment for the real-cluster test harness (package testbed/kube).
# The main Makefile includes it:  include testbed/kubeapiserver/kube.mk
#
#   make kube-apiserver-bin   build kube-apiserver v1.36.3 into $(KSDOCTOR_TEST_BIN)
#                             (about 5 min cold; a no-op while its inputs are unchanged)
#   make kube-node-bin        build kubelet and kube-controller-manager v1.36.3 there too
#                             (testbed/kubenode; about 6 min cold beside the apiserver's cache)
#   make etcd-bin             build etcd v3.6.16 there too (testbed/etcd; about 40 s cold):
#                             Debian's 3.4 cannot serve consistent Lists from the watch cache
#   make test-kube            the above, then go test ./testbed/kube/
#
# KSDOCTOR_KUBE_APISERVER and KSDOCTOR_ETCD are exported so every `go test` run by
# make finds the binaries. Each build is testbed/buildbin.sh, skipped while its
# inputs are unchanged.

KUBE_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

KSDOCTOR_TEST_BIN ?= /var/cache/ksdoctor-test/bin
KSDOCTOR_KUBE_APISERVER ?= $(KSDOCTOR_TEST_BIN)/kube-apiserver
export KSDOCTOR_KUBE_APISERVER
KSDOCTOR_ETCD ?= $(KSDOCTOR_TEST_BIN)/etcd
export KSDOCTOR_ETCD

# kubelet and kube-controller-manager of the same release (testbed/kubenode),
# for the real-kubelet tests of `sweep --all-nodes`; one `go build` for both.
KSDOCTOR_KUBELET ?= $(KSDOCTOR_TEST_BIN)/kubelet
KSDOCTOR_KUBE_CONTROLLER_MANAGER ?= $(KSDOCTOR_TEST_BIN)/kube-controller-manager
export KSDOCTOR_KUBELET KSDOCTOR_KUBE_CONTROLLER_MANAGER

.PHONY: kube-apiserver-bin kube-node-bin etcd-bin test-kube
kube-apiserver-bin: etcd-bin
	$(KUBE_MK_DIR)/build.sh $(KSDOCTOR_TEST_BIN)

etcd-bin:
	$(KUBE_MK_DIR)/../etcd/build.sh $(KSDOCTOR_TEST_BIN)

kube-node-bin:
	$(KUBE_MK_DIR)/../kubenode/build.sh $(KSDOCTOR_TEST_BIN)

test-kube: kube-apiserver-bin
	go test ./testbed/kube/ -count=1
