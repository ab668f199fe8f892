package checks

import (
	"slices"
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

// TestClusterChecksOnlyJudgeWhatWasRead: a snapshot of a fix of evicted
// pods read only the Failed pods; replayed with every check, the checks of
// the parts it did not read say so and judge nothing, never "healthy".
func TestClusterChecksOnlyJudgeWhatWasRead(t *testing.T) {
	c := &diag.ClusterFacts{Reachable: true, Areas: []string{diag.ClusterAreaFailedPods}, FailedPods: []diag.PodFacts{}, CrashLoopPods: []diag.PodFacts{}}
	rep := diag.Run([]diag.Check{K8sEvictedPods, K8sCrashLoopPods, K8sNodeConditions, K8sIngressTLS, DevopsJenkinsCascStale}, clusterSnap(c), nil, diag.RunOptions{})
	for _, r := range rep.Checks {
		want := diag.StatusError
		if r.ID == K8sEvictedPods.ID {
			want = diag.StatusPass
		}
		if r.Status != want {
			t.Errorf("%s: %s (%s%s), want %s", r.ID, r.Status, r.Error, r.Reason, want)
		}
		if want == diag.StatusError && !strings.Contains(r.Error, "not read by this sweep") {
			t.Errorf("%s: error %q does not say the part was not read", r.ID, r.Error)
		}
	}
}

func TestClusterAreasFor(t *testing.T) {
	for _, tc := range []struct {
		checks []diag.Check
		want   []string
	}{
		{[]diag.Check{K8sEvictedPods}, []string{diag.ClusterAreaFailedPods}},
		{[]diag.Check{K8sCrashLoopPods, K8sEvictedPods}, []string{diag.ClusterAreaCrashLoopPods, diag.ClusterAreaFailedPods}},
		{[]diag.Check{DockerExitedContainers}, nil},
		{[]diag.Check{K8sEvictedPods, {ID: "x.all", Needs: []diag.Source{diag.SourceCluster}}}, nil},
	} {
		if got := diag.ClusterAreasFor(tc.checks); !slices.Equal(got, tc.want) {
			t.Errorf("ClusterAreasFor(%v) = %v, want %v", tc.checks, got, tc.want)
		}
	}
	// Every cluster check names what it reads.
	for _, c := range All() {
		if slices.Contains(c.Sources(), diag.SourceCluster) && len(c.ClusterAreas) == 0 {
			t.Errorf("%s reads the cluster but names no ClusterAreas", c.ID)
		}
	}
}
