package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

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
	Needs:        []diag.Source{diag.SourceCluster},
	ClusterAreas: []string{diag.ClusterAreaCrashLoopPods},
	Run:          runCrashLoopPods,
}

func runCrashLoopPods(pass *diag.Pass) ([]diag.Finding, error) {
	c, err := clusterFacts(pass, diag.ClusterAreaPods)
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
		r := deletePodsRemediation(pass.RemediationID("restart"), owned)
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
