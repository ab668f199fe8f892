// Package kube starts a real, throw-away Kubernetes control plane for ksdoctor's tests:
// etcd v3.6.16 (testbed/etcd/build.sh, make etcd-bin) and an upstream kube-apiserver
// v1.36.3 built by testbed/kubeapiserver/build.sh (make kube-apiserver-bin), both listening on
// 127.0.0.1 only, with a self-signed CA, static bearer tokens and RBAC.
//
// Real kubelets: StartForNodes starts a cluster on an address in 198.18.0.0/15 on a veth
// (a kubelet in a network namespace cannot reach the root namespace's loopback) with Node
// authorization; StartControllerManager runs kube-controller-manager (job, garbage
// collector, ttl-after-finished); StartNode runs containerd and a kubelet v1.36.3
// (cgroup v1, cgroupfs, oomScoreAdj 0) in a node namespace, with a pause image built
// from testbed/ksdt-pause and the given image tars imported (nothing is pulled). The
// binaries come from `make kube-node-bin` ($KSDOCTOR_KUBELET,
// $KSDOCTOR_KUBE_CONTROLLER_MANAGER). No scheduler: pods pin nodeName.
//
// Without those, there is no kubelet, scheduler or controller manager: pods are created as objects and
// their status (phase, reason, container states) is written through the status
// subresource with SetPodStatus, or in bulk with CreatePods. Deployments create no pods,
// nothing is garbage-collected, deleted namespaces stay Terminating, and no default
// service account exists (the ServiceAccount admission plugin is disabled). The aggregated
// ClusterRoles ("view", "edit", "admin") stay empty until AggregateClusterRoles runs;
// GrantClusterRole runs it for you.
//
// Identities (static tokens, see Cluster.Tokens):
//
//   - "admin": group system:masters, may do anything;
//   - "reader": no groups and no RBAC: tests bind the role they want (GrantClusterRole);
//   - "fixer": no groups and no RBAC either, for the identity that repairs things.
//
// Typical use:
//
//	func TestSomething(t *testing.T) {
//		c := kube.Start(t) // skips unless root and the binaries exist; fails if CI=true
//		cs := c.Clientset(t, "admin")
//		...
//	}
//
// A package that wants one cluster for all its tests can call StartCluster in TestMain
// and Stop it before exiting. The kube-apiserver binary comes from
// $KSDOCTOR_KUBE_APISERVER, else /var/cache/ksdoctor-test/bin/kube-apiserver; etcd from
// $KSDOCTOR_ETCD, else /var/cache/ksdoctor-test/bin/etcd. Debian's etcd 3.4 also runs,
// but cannot serve consistent Lists from kube-apiserver's watch cache (no progress
// notifications before 3.4.31), so every List reads etcd: slower than real clusters.
package kube
