package kube

import (
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// StartControllerManager runs kube-controller-manager with the controllers
// a Job needs (job, garbagecollector, ttl-after-finished) and stops it when
// the test ends. No scheduler: the tests' pods pin nodeName.
func StartControllerManager(t testing.TB, c *Cluster) {
	t.Helper()
	RequireNodes(t)
	_, bin := NodeBinaries()
	kc := filepath.Join(c.dir, "kcm.kubeconfig")
	if err := clientcmd.WriteToFile(*c.Kubeconfig(Admin), kc); err != nil {
		t.Fatalf("kube testbed: %v", err)
	}
	p, err := startProcess(bin, []string{
		"--kubeconfig=" + kc,
		"--controllers=job,garbagecollector,ttl-after-finished",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--concurrent-job-syncs=20",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--v=1",
	}, filepath.Join(c.dir, "kube-controller-manager.log"))
	if err != nil {
		t.Fatalf("kube testbed: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(stopGrace); err != nil {
			t.Errorf("kube testbed: %v", err)
		}
	})
	t.Logf("kube testbed: kube-controller-manager pid %d", p.pid())
}
