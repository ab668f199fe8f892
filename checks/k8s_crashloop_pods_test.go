package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestCrashLoopPods(t *testing.T) {
	crashing := []diag.ContainerStatus{{Name: "app", RestartCount: 7, WaitingReason: "CrashLoopBackOff", LastReason: "OOMKilled", LastExitCode: 137}}
	s := clusterSnap(&diag.ClusterFacts{Reachable: true, CrashLoopPods: []diag.PodFacts{
		{Namespace: "shop", Name: "api-1", UID: "u1", Owner: "ReplicaSet/api-7d9", Containers: crashing},
		{Namespace: "shop", Name: "debug", UID: "u2", Containers: crashing},
	}})
	fs, err := K8sCrashLoopPods.Judge(s, nil)
	if err != nil || len(fs) != 1 || fs[0].ID != "k8s.crashloop-pods" || fs[0].Severity != diag.Warning {
		t.Fatalf("findings %v, err %v", ids(fs), err)
	}
	if rows := fs[0].Evidence[0].Table.Rows; len(rows) != 2 || rows[0][4] != "OOMKilled (exit 137)" {
		t.Errorf("rows %v", rows)
	}
	r, ok := fs[0].Remediation("k8s.crashloop-pods/restart")
	if !ok || len(r.Plan.Steps) != 1 || r.Plan.Steps[0].Pod == nil || r.Plan.Steps[0].Pod.UID != "u1" {
		t.Errorf("the restart must delete only the owned pod: %+v", r.Plan.Steps)
	}
	s.Cluster.CrashLoopPods = nil
	if fs, err := K8sCrashLoopPods.Judge(s, nil); err != nil || len(fs) != 0 {
		t.Errorf("no crashing pod: %v, %v", ids(fs), err)
	}
}
