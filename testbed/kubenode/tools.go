//go:build tools

// Package build pins k8s.io/kubernetes v1.36.3 (the same release and staging
// versions as testbed/kubeapiserver) so that build.sh can build the upstream
// kubelet and kube-controller-manager for ksdoctor's real-kubelet tests. The
// imports below keep `go mod tidy` recording exactly the sums those two
// commands need; the file is never compiled.
package build

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
