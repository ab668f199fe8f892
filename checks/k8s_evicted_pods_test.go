package checks

import (
	"slices"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestEvictedPods(t *testing.T) {
	c := &diag.ClusterFacts{FailedPods: []diag.PodFacts{
		{Namespace: "a", Name: "p1", UID: "u1", Node: "node-1", Phase: "Failed", Reason: "Evicted", Message: "The node had condition: [DiskPressure]. ", CreatedAt: t0.Add(-2 * time.Hour)},
		{Namespace: "a", Name: "p2", UID: "u2", Node: "node-1", Phase: "Failed", Reason: "Evicted", Message: "The node had condition: [DiskPressure]. ", CreatedAt: t0.Add(-time.Hour)},
		{Namespace: "b", Name: "job", UID: "u3", Phase: "Failed", Reason: "DeadlineExceeded"},
	}}
	fs, err := K8sEvictedPods.Judge(clusterSnap(c), diag.DefaultConfig())
	if err != nil || len(fs) != 1 {
		t.Fatalf("got %d findings, %v", len(fs), err)
	}
	f := fs[0]
	if !slices.Equal(f.CausedBy, []string{"k8s.node-conditions/node-1"}) {
		t.Errorf("causedBy %v", f.CausedBy)
	}
	rem := f.Remediations[0]
	var uids []string
	for _, s := range rem.Plan.Steps {
		if s.Kind != diag.StepDeletePod {
			t.Errorf("step kind %s", s.Kind)
		}
		uids = append(uids, s.Pod.UID)
	}
	slices.Sort(uids)
	if !slices.Equal(uids, []string{"u1", "u2"}) {
		t.Errorf("plan UIDs %v, want u1 u2 (not the failed job)", uids)
	}
	g := f.Evidence[0].Table
	if len(g.Rows) != 1 || g.Rows[0][2] != "2" || g.Rows[0][3] != "2h" {
		t.Errorf("group table %v", g.Rows)
	}
}
