package checks

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// maxRows caps the per-object rows of an evidence table; the rest is
// counted, and remediation previews still list every object.
const maxRows = 100

// clusterFacts returns the gathered cluster facts, or an error naming the
// facts that could not be read for area.
func clusterFacts(s *diag.Snapshot, area string) (*diag.ClusterFacts, error) {
	c := s.Cluster
	if c == nil {
		return nil, diag.Skip("no cluster facts in this snapshot")
	}
	if reason, ok := c.Partial[area]; ok {
		return nil, fmt.Errorf("cluster %s could not be read: %s", area, reason)
	}
	return c, nil
}

// ---------------------------------------------------------------------------
// k8s.evicted-pods

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
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runEvictedPods,
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

func runEvictedPods(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaPods)
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
			id := "k8s.node-conditions/" + p.Node
			if !slices.Contains(causes, id) {
				causes = append(causes, id)
			}
		}
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
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
		byGroup.Rows = append(byGroup.Rows, []string{g.ns, orDash(g.node), strconv.Itoa(g.n), age(s.Now(), g.oldest), topMessage(g.messages)})
	}
	podRows := &diag.Table{Columns: []string{"NAMESPACE", "POD", "NODE", "AGE", "MESSAGE"}}
	for i, p := range pods {
		if i == maxRows {
			podRows.Rows = append(podRows.Rows, []string{"…", fmt.Sprintf("and %d more", len(pods)-maxRows), "", "", ""})
			break
		}
		podRows.Rows = append(podRows.Rows, []string{p.Namespace, p.Name, orDash(p.Node), age(s.Now(), podTime(p)), p.Message})
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
		Remediations: []diag.Remediation{deletePodsRemediation("k8s.evicted-pods/delete", pods)},
	}
	return []diag.Finding{f}, nil
}

func podTime(p diag.PodFacts) time.Time {
	if !p.StartedAt.IsZero() {
		return p.StartedAt
	}
	return p.CreatedAt
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

// ---------------------------------------------------------------------------
// k8s.crashloop-pods

// K8sCrashLoopPods reports containers waiting in CrashLoopBackOff.
var K8sCrashLoopPods = diag.Check{
	ID:    "k8s.crashloop-pods",
	Title: "Pods in CrashLoopBackOff",
	Doc: `A container that keeps exiting is restarted by kubelet with a growing
back-off and shows state.waiting.reason CrashLoopBackOff; the pod's phase
stays Running, so only the container statuses reveal it. Evidence: restart
count, the last termination's reason and exit code (137 = killed, often
OOMKilled; 1 = the program failed) and the owner. The restart remediation
deletes the pods so their controllers recreate them; it is not offered for
bare pods (nothing would recreate them) and rarely cures the cause: read the
container's previous logs (kubectl logs --previous) first.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runCrashLoopPods,
}

func runCrashLoopPods(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaPods)
	if err != nil {
		return nil, err
	}
	if len(c.CrashLoopPods) == 0 {
		return nil, nil
	}
	t := &diag.Table{Columns: []string{"NAMESPACE", "POD", "CONTAINER", "RESTARTS", "LAST EXIT", "OWNER", "NODE"}}
	var owned []diag.PodFacts
	bare := 0
	for _, p := range c.CrashLoopPods {
		if p.Owner != "" {
			owned = append(owned, p)
		} else {
			bare++
		}
		for _, ct := range p.Containers {
			if ct.WaitingReason != "CrashLoopBackOff" {
				continue
			}
			if len(t.Rows) == maxRows {
				t.Rows = append(t.Rows, []string{"…", "more not shown", "", "", "", "", ""})
				break
			}
			last := "-"
			if ct.LastReason != "" || ct.LastExitCode != 0 {
				last = fmt.Sprintf("%s (exit %d)", orDash(ct.LastReason), ct.LastExitCode)
			}
			name := ct.Name
			if ct.Init {
				name += " (init)"
			}
			t.Rows = append(t.Rows, []string{p.Namespace, p.Name, name, strconv.Itoa(int(ct.RestartCount)), last, orDash(p.Owner), orDash(p.Node)})
		}
	}
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    fmt.Sprintf("%s in CrashLoopBackOff", plural(len(c.CrashLoopPods), "pod", "pods")),
		Summary: fmt.Sprintf("%s keep crashing and are restarted with a growing back-off.",
			plural(len(c.CrashLoopPods), "pod has containers that", "pods have containers that")),
		Explanation: "Look at the last termination: exit 137 with OOMKilled means the memory limit is too low; exit 1 means the " +
			"program failed (kubectl logs --previous shows why); a missing ConfigMap, Secret or dependency is the usual cause. " +
			"Recreating the pod rarely helps.",
		Evidence: []diag.Evidence{{Label: "Crashing containers", Table: t}},
	}
	if bare > 0 {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Bare pods (no controller; not restarted by the remediation)", Value: strconv.Itoa(bare)})
	}
	if len(owned) > 0 {
		r := deletePodsRemediation("k8s.crashloop-pods/restart", owned)
		r.Title = "Recreate " + plural(len(owned), "crash-looping pod", "crash-looping pods") + " through their controllers"
		r.Risk = diag.RiskMedium
		r.Preview = "This rarely cures the cause: a pod that crashes will crash again once recreated. Read its previous logs first.\n" +
			strings.Replace(r.Preview, "evicted pod", "crash-looping pod", 1) +
			"\nOnly pods with a controller are deleted (the controller recreates them); bare pods are left alone."
		for i := range r.Plan.Steps {
			r.Plan.Steps[i].Description = strings.Replace(r.Plan.Steps[i].Description, "delete pod", "recreate pod", 1)
		}
		f.Remediations = []diag.Remediation{r}
	}
	return []diag.Finding{f}, nil
}

// ---------------------------------------------------------------------------
// k8s.node-conditions

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
	Needs: []diag.Source{diag.SourceCluster},
	Uses:  []diag.Source{diag.SourceFilesystems},
	Run:   runNodeConditions,
}

var pressureTypes = []string{"DiskPressure", "MemoryPressure", "PIDPressure"}

func runNodeConditions(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaNodes)
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
			t.Rows = append(t.Rows, []string{cd.Type, cd.Status, age(s.Now(), cd.LastTransition), orDash(cd.Reason), cd.Message})
		}
		this := n.Name == c.NodeName
		where := "Node " + n.Name
		if this {
			where = "This node (" + n.Name + ")"
		}
		f := diag.Finding{
			ID:       "k8s.node-conditions/" + n.Name,
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
			f.CausedBy = []string{"disk.docker-root-usage"}
			f.Explanation = "On this node the Docker data-root is kubelet's image filesystem: when it fills, kubelet reports DiskPressure and evicts pods."
		}
		out = append(out, f)
	}
	return out, nil
}
