package checks

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
)

func TestClusterChecksPartial(t *testing.T) {
	c := &diag.ClusterFacts{Partial: map[string]string{diag.ClusterAreaPods: `pods is forbidden: User "x" cannot list resource "pods"`}}
	rep := diag.Run([]diag.Check{K8sEvictedPods, K8sCrashLoopPods, DevopsJenkinsCascStale}, clusterSnap(c), nil, diag.RunOptions{})
	st := map[string]diag.CheckResult{}
	for _, r := range rep.Checks {
		st[r.ID] = r
	}
	if st["k8s.evicted-pods"].Status != diag.StatusError || !strings.Contains(st["k8s.evicted-pods"].Error, "forbidden") {
		t.Errorf("evicted with unreadable pods: %+v", st["k8s.evicted-pods"])
	}
	if st["devops.jenkins-casc-stale"].Status != diag.StatusSkipped {
		t.Errorf("jenkins without devops: %+v", st["devops.jenkins-casc-stale"])
	}
}

func TestClusterChecksSkippedWithoutCluster(t *testing.T) {
	s := clusterSnap(nil)
	s.Sources[diag.SourceCluster] = &diag.SourceStatus{Source: diag.SourceCluster, Error: gather.ErrNoKubeconfig.Error(), Absent: true}
	rep := diag.Run(All(), s, nil, diag.RunOptions{})
	for _, r := range rep.Checks {
		if (strings.HasPrefix(r.ID, "k8s.") || strings.HasPrefix(r.ID, "devops.")) && (r.Status != diag.StatusSkipped || !strings.Contains(r.Reason, "no kubeconfig")) {
			t.Errorf("%s: %s %q, want skipped with the reason", r.ID, r.Status, r.Reason)
		}
	}
}
