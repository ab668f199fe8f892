package checks

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestNodeConditionsLinkDisk(t *testing.T) {
	c := &diag.ClusterFacts{NodeName: "node-1", Nodes: []diag.NodeFacts{
		{Name: "node-1", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "True"}, {Type: "DiskPressure", Status: "True"}}},
		{Name: "node-2", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "False"}}},
		{Name: "node-3", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "True"}, {Type: "MemoryPressure", Status: "False"}}},
	}}
	s := clusterSnap(c)
	s.Sources[diag.SourceFilesystems] = &diag.SourceStatus{Source: diag.SourceFilesystems, OK: true}
	s.Filesystems = []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", MountPoint: "/", TotalBytes: 100, UsedBytes: 95, FreeBytes: 5}}
	rep := diag.Run([]diag.Check{DiskDockerRootUsage, K8sNodeConditions}, s, nil, diag.RunOptions{})
	m := byID(rep.Findings)
	n1, ok := m["k8s.node-conditions/node-1"]
	if !ok || n1.Severity != diag.Warning || !slices.Equal(n1.CausedBy, []string{"disk.docker-root-usage"}) {
		t.Errorf("node-1: %v %s causedBy %v", ok, n1.Severity, n1.CausedBy)
	}
	if !slices.Contains(m["disk.docker-root-usage"].Causes, "k8s.node-conditions/node-1") {
		t.Errorf("disk finding causes %v", m["disk.docker-root-usage"].Causes)
	}
	if m["k8s.node-conditions/node-2"].Severity != diag.Critical {
		t.Errorf("node-2 NotReady: %+v", m["k8s.node-conditions/node-2"])
	}
	if _, ok := m["k8s.node-conditions/node-3"]; ok {
		t.Errorf("healthy node-3 reported")
	}
	// Without the disk finding the link is dropped.
	s.Filesystems[0].UsedBytes = 10
	rep = diag.Run([]diag.Check{DiskDockerRootUsage, K8sNodeConditions}, s, nil, diag.RunOptions{})
	if f := byID(rep.Findings)["k8s.node-conditions/node-1"]; len(f.CausedBy) != 0 {
		t.Errorf("link kept without a disk finding: %v", f.CausedBy)
	}
}
