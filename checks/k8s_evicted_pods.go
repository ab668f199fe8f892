package checks

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// K8sEvictedPods reports evicted pods left behind.
var K8sEvictedPods = diag.Check{
	ID:    "k8s.evicted-pods",
	Title: "Evicted pods left behind",
	Doc: `Pods evicted by kubelet (node pressure: DiskPressure, MemoryPressure, ...)
stay as Failed objects with reason Evicted until deleted: the controller
has already replaced them, but they clutter every listing, hold their
names and are collected only past the controller manager's
--terminated-pod-gc-threshold (12,500). The check lists them across all
namespaces in one paginated List with the server-side field selector
status.phase=Failed (Evicted is a reason, not a phase), grouped by
namespace and node with the eviction message. The delete remediation
removes exactly the previewed pods, each with a UID precondition so a pod
recreated under the same name is never deleted; the eviction's cause (the
node condition) is reported by k8s.node-conditions.`,
	Needs:        []diag.Source{diag.SourceCluster},
	ClusterAreas: []string{diag.ClusterAreaFailedPods},
	CausedBy:     []*diag.Check{&K8sNodeConditions},
	Run:          runEvictedPods,
}

func evictedPods(c *diag.ClusterFacts) []diag.PodFacts {
	var out []diag.PodFacts
	for _, p := range c.FailedPods {
		if p.Phase == "Failed" && p.Reason == "Evicted" {
			out = append(out, p)
		}
	}
	return out
}

// conditionRe finds the node conditions named in an eviction message:
// "The node had condition: [DiskPressure]." or "The node was low on resource: memory."
var conditionRe = regexp.MustCompile(`condition: \[([A-Za-z, ]+)\]`)

func runEvictedPods(pass *diag.Pass) ([]diag.Finding, error) {
	c, err := clusterFacts(pass, diag.ClusterAreaPods)
	if err != nil {
		return nil, err
	}
	pods := evictedPods(c)
	if len(pods) == 0 {
		return nil, nil
	}
	type group struct {
		ns, node string
		n        int
		oldest   time.Time
		messages map[string]int
	}
	groups := map[[2]string]*group{}
	var causes []string
	for _, p := range pods {
		k := [2]string{p.Namespace, p.Node}
		g := groups[k]
		if g == nil {
			g = &group{ns: p.Namespace, node: p.Node, messages: map[string]int{}}
			groups[k] = g
		}
		g.n++
		if t := podTime(p); g.oldest.IsZero() || t.Before(g.oldest) {
			g.oldest = t
		}
		g.messages[strings.TrimSpace(p.Message)]++
		if p.Node != "" && conditionRe.MatchString(p.Message) {
			id := pass.CausedBy(&K8sNodeConditions, p.Node)
			if !slices.Contains(causes, id) {
				causes = append(causes, id)
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int {
		if x := cmp.Compare(groups[b].n, groups[a].n); x != 0 {
			return x
		}
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	byGroup := &diag.Table{Columns: []string{"NAMESPACE", "NODE", "PODS", "OLDEST", "MESSAGE"}}
	namespaces := map[string]bool{}
	for _, k := range keys {
		g := groups[k]
		namespaces[g.ns] = true
		byGroup.Rows = append(byGroup.Rows, []string{g.ns, orDash(g.node), strconv.Itoa(g.n), age(pass.Now(), g.oldest), topMessage(g.messages)})
	}
	podRows := &diag.Table{Columns: []string{"NAMESPACE", "POD", "NODE", "AGE", "MESSAGE"}}
	for i, p := range pods {
		if i == maxRows {
			podRows.Rows = append(podRows.Rows, []string{"…", fmt.Sprintf("and %d more", len(pods)-maxRows), "", "", ""})
			break
		}
		podRows.Rows = append(podRows.Rows, []string{p.Namespace, p.Name, orDash(p.Node), age(pass.Now(), podTime(p)), p.Message})
	}
	slices.Sort(causes)
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    fmt.Sprintf("%s in %s", plural(len(pods), "evicted pod", "evicted pods"), plural(len(namespaces), "namespace", "namespaces")),
		Summary: fmt.Sprintf("%s evicted by kubelet under node pressure remain as Failed objects; their controllers have replaced them.",
			plural(len(pods), "pod", "pods")),
		Explanation: "Evicted pods are not restarted and are garbage-collected only above the controller manager's " +
			"terminated-pod threshold (12,500). Delete them after looking at why the node evicted them (see the node conditions).",
		Evidence: []diag.Evidence{
			{Label: "By namespace and node", Table: byGroup},
			{Label: "Evicted pods", Table: podRows},
		},
		CausedBy:     causes,
		Remediations: []diag.Remediation{deletePodsRemediation(pass.RemediationID("delete"), pods)},
	}
	return []diag.Finding{f}, nil
}

func topMessage(m map[string]int) string {
	best, n := "", -1
	for msg, c := range m {
		if c > n || (c == n && msg < best) {
			best, n = msg, c
		}
	}
	if len(m) > 1 {
		best += fmt.Sprintf(" (+%d other messages)", len(m)-1)
	}
	return best
}
