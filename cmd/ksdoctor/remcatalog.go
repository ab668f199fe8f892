package main

import (
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// remInfo is what explain and completion say about a remediation before
// any finding offers it: its ID, its risk and what it does in general (the
// finding's own remediation carries the exact title and plan).
type remInfo struct {
	ID   string
	Risk diag.Risk
	What string
}

// remCatalog lists every remediation the checks can offer. Checks build
// their remediations from the snapshot, so the registry cannot list them;
// TestRemediationCatalog replays every fixture and real-world case and
// fails on a remediation missing here or offered at another risk.
var remCatalog = []remInfo{
	{"disk.docker-root-usage/prune", diag.RiskLow, "remove dangling images and unused build cache"},
	{"disk.docker-root-usage/migrate", diag.RiskHigh, "move Docker's data-root to a bigger filesystem (--to DIR; stops and restarts docker)"},
	{"docker.exited-containers/remove", diag.RiskLow, "remove exited containers no pod or compose project still owns"},
	{"docker.iptables-disabled/enable", diag.RiskHigh, "let dockerd manage iptables again (edits its configuration, restarts docker)"},
	{"docker.config-conflict/dedupe", diag.RiskHigh, "remove an option set both in daemon.json and as a flag (restarts docker)"},
	{"docker.options-drift/restart", diag.RiskHigh, "restart docker so it runs the configuration on disk"},
	{"docker.log-rotation-missing/set", diag.RiskHigh, "set json-file log rotation in daemon.json (restarts docker)"},
	{"k8s.evicted-pods/delete", diag.RiskLow, "delete evicted pods"},
	{"k8s.crashloop-pods/restart", diag.RiskMedium, "recreate crash-looping pods through their controllers (rarely cures the cause)"},
	{"net.docker0-masquerade-missing/add-rule", diag.RiskLow, "add the MASQUERADE rule for docker0's subnet"},
	{"net.ip-forward-disabled/enable", diag.RiskLow, "turn on IPv4 forwarding now and at boot"},
	{"net.bridge-nf-call-iptables/enable", diag.RiskLow, "send bridged traffic through iptables now and at boot"},
	{"devops.jenkins-casc-stale/restart", diag.RiskMedium, "rollout restart the Jenkins Deployment so it reads its configuration again"},
}

// remediationsOf is the catalog's remediations of one check.
func remediationsOf(checkID string) []remInfo {
	var out []remInfo
	for _, r := range remCatalog {
		if strings.TrimSuffix(r.ID, "/"+r.action()) == checkID {
			out = append(out, r)
		}
	}
	return out
}

func (r remInfo) action() string { return r.ID[strings.LastIndexByte(r.ID, '/')+1:] }

// remediationIDs is every catalog ID, sorted.
func remediationIDs() []string {
	out := make([]string, 0, len(remCatalog))
	for _, r := range remCatalog {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}
