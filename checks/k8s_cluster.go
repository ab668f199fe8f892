package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// maxRows caps the per-object rows of an evidence table; the rest is
// counted, and remediation previews still list every object.
const maxRows = 100

// clusterFacts returns the gathered cluster facts, or an error naming the
// facts that could not be read for area.
func clusterFacts(pass *diag.Pass, area string) (*diag.ClusterFacts, error) {
	c := pass.Cluster()
	if c == nil {
		return nil, diag.Skip("no cluster facts in this snapshot")
	}
	for _, a := range pass.Check.ClusterAreas {
		if !c.Holds(a) {
			return nil, fmt.Errorf("cluster %s were not read by this sweep (it read %s)", a, strings.Join(c.Areas, ", "))
		}
	}
	if reason, ok := c.Partial[area]; ok {
		return nil, fmt.Errorf("cluster %s could not be read: %s", area, reason)
	}
	return c, nil
}

func podTime(p diag.PodFacts) time.Time {
	if !p.StartedAt.IsZero() {
		return p.StartedAt
	}
	return p.CreatedAt
}

func deletePodsRemediation(id string, pods []diag.PodFacts) diag.Remediation {
	var b strings.Builder
	fmt.Fprintf(&b, "Delete %s through the Kubernetes API:\n", plural(len(pods), "evicted pod", "evicted pods"))
	byNS := map[string][]string{}
	var nss []string
	for _, p := range pods {
		if _, ok := byNS[p.Namespace]; !ok {
			nss = append(nss, p.Namespace)
		}
		byNS[p.Namespace] = append(byNS[p.Namespace], p.Name)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		fmt.Fprintf(&b, "  %s: %s\n", ns, strings.Join(byNS[ns], " "))
	}
	b.WriteString("Each pod is deleted only if it still has the UID seen now: a pod recreated under the same name is left alone. " +
		"Deletes run concurrently with a bound; the result counts deleted, already gone and failed. Needs permission to delete pods.")
	steps := make([]diag.Step, 0, len(pods))
	for _, p := range pods {
		steps = append(steps, diag.Step{
			Kind:        diag.StepDeletePod,
			Description: fmt.Sprintf("delete pod %s/%s (uid %s)", p.Namespace, p.Name, p.UID),
			Pod:         &diag.PodTarget{Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		})
	}
	return diag.Remediation{
		ID:      id,
		Title:   "Delete " + plural(len(pods), "evicted pod", "evicted pods"),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan:    diag.Plan{Steps: steps},
	}
}
