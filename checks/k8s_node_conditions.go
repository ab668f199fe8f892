package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// K8sNodeConditions reports nodes under pressure or not Ready.
var K8sNodeConditions = diag.Check{
	ID:    "k8s.node-conditions",
	Title: "Nodes not Ready or under pressure",
	Doc: `Reports nodes whose Ready condition is not True, or with DiskPressure,
MemoryPressure or PIDPressure. Under pressure kubelet evicts pods (which
then show up as evicted pods) and the scheduler avoids the node. On the node
being swept, DiskPressure is linked to disk.docker-root-usage when that
check also fires: the Docker data-root filling up is the usual cause on
Docker nodes (kubelet's imagefs).`,
	Needs:        []diag.Source{diag.SourceCluster},
	ClusterAreas: []string{diag.ClusterAreaNodes},
	CausedBy:     []*diag.Check{&DiskDockerRootUsage},
	Run:          runNodeConditions,
}

var pressureTypes = []string{"DiskPressure", "MemoryPressure", "PIDPressure"}

func runNodeConditions(pass *diag.Pass) ([]diag.Finding, error) {
	c, err := clusterFacts(pass, diag.ClusterAreaNodes)
	if err != nil {
		return nil, err
	}
	var out []diag.Finding
	for _, n := range c.Nodes {
		var bad []diag.NodeCondition
		notReady := false
		for _, cd := range n.Conditions {
			switch {
			case cd.Type == "Ready" && cd.Status != "True":
				notReady = true
				bad = append(bad, cd)
			case slices.Contains(pressureTypes, cd.Type) && cd.Status == "True":
				bad = append(bad, cd)
			}
		}
		if len(bad) == 0 {
			continue
		}
		var names []string
		t := &diag.Table{Columns: []string{"CONDITION", "STATUS", "SINCE", "REASON", "MESSAGE"}}
		for _, cd := range bad {
			name := cd.Type
			if cd.Type == "Ready" {
				name = "NotReady"
			}
			names = append(names, name)
			t.Rows = append(t.Rows, []string{cd.Type, cd.Status, age(pass.Now(), cd.LastTransition), orDash(cd.Reason), cd.Message})
		}
		this := n.Name == c.NodeName
		where := "Node " + n.Name
		if this {
			where = "This node (" + n.Name + ")"
		}
		f := diag.Finding{
			ID:       pass.FindingID(n.Name),
			Severity: diag.Warning,
			Title:    fmt.Sprintf("%s: %s", where, strings.Join(names, ", ")),
			Summary:  fmt.Sprintf("%s reports %s; kubelet evicts pods under pressure and the scheduler avoids the node.", where, strings.Join(names, ", ")),
			Evidence: []diag.Evidence{{Label: "Conditions", Table: t}},
		}
		if notReady {
			f.Severity = diag.Critical
			f.Summary = fmt.Sprintf("%s is not Ready: its pods are not scheduled there and are evicted after the toleration period.", where)
		}
		if n.Unschedulable {
			f.Evidence = append(f.Evidence, diag.Evidence{Label: "Cordoned", Value: "yes (spec.unschedulable)"})
		}
		if this && slices.Contains(names, "DiskPressure") {
			f.CausedBy = []string{pass.CausedBy(&DiskDockerRootUsage, "")}
			f.Explanation = "On this node the Docker data-root is kubelet's image filesystem: when it fills, kubelet reports DiskPressure and evicts pods."
		}
		out = append(out, f)
	}
	return out, nil
}
