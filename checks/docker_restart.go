package checks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// blastRadius describes what a docker restart interrupts.
func blastRadius(pass *diag.Pass) string {
	var b strings.Builder
	live := false
	dk := pass.Docker()
	if dk != nil {
		live = dk.LiveRestore
	}
	if f := pass.DockerConf(); f != nil && !live {
		if o, ok := diag.Option(f.OnDisk, "live-restore"); ok && o.Value == "true" {
			live = true
		}
	}
	if dk == nil || !dk.Reachable {
		b.WriteString("Blast radius: unknown (the Docker API did not answer).\n")
	} else {
		running := 0
		pods := map[string]bool{}
		for _, c := range dk.Containers {
			if c.State != "running" {
				continue
			}
			running++
			if c.KubeletManaged() {
				ns, name := c.Labels["io.kubernetes.pod.namespace"], c.Labels["io.kubernetes.pod.name"]
				if name == "" {
					name = c.Name
				}
				pods[ns+"/"+name] = true
			}
		}
		fmt.Fprintf(&b, "Blast radius: %s and %s on this node ", plural(running, "running container", "running containers"), plural(len(pods), "Kubernetes pod", "Kubernetes pods"))
		if live {
			b.WriteString("keep running through the restart (live-restore is on); the Docker API is down meanwhile.\n")
		} else {
			b.WriteString("are stopped by the restart (live-restore is off); containers with a restart policy and pods come back after it.\n")
		}
		if len(pods) > 0 {
			names := slices.Sorted(maps.Keys(pods))
			if len(names) > 10 {
				names = append(names[:10], fmt.Sprintf("… and %d more", len(pods)-10))
			}
			fmt.Fprintf(&b, "  pods: %s\n", strings.Join(names, ", "))
		}
	}
	return b.String()
}

// restartPlan builds the transactional plan: edits, validation, then a restart that rolls
// back (restore files, restart again) when docker does not come back.
func restartPlan(pass *diag.Pass, edits []plannedEdit) diag.Plan {
	svc := &diag.ServiceTarget{Unit: dockerconf.UnitName}
	steps := []diag.Step{{Kind: diag.StepServiceRestartOnRollback, Description: "on failure: restore the files, systemctl daemon-reload, restart docker", Service: svc}}
	unitChanged := false
	for _, e := range edits {
		steps = append(steps, e.step())
		if !strings.HasSuffix(e.path, ".json") {
			unitChanged = true
		}
	}
	steps = append(steps, diag.Step{Kind: diag.StepDockerConfigValidate, Description: "check that dockerd accepts the configuration now on disk"})
	if unitChanged || len(edits) == 0 {
		steps = append(steps, diag.Step{Kind: diag.StepServiceDaemonReload, Description: "systemctl daemon-reload"})
	}
	if sd := pass.Systemd(); sd != nil && sd.Unit.InStartLimit() {
		steps = append(steps, diag.Step{Kind: diag.StepServiceResetFailed, Description: "systemctl reset-failed docker.service (its start limit is used up)", Service: svc})
	}
	steps = append(steps,
		diag.Step{Kind: diag.StepServiceRestart, Description: "systemctl restart docker.service", Service: svc},
		diag.Step{Kind: diag.StepDockerWaitReady, Description: "wait until the Docker API answers"},
	)
	return diag.Plan{Steps: steps, Transactional: true}
}

func restartPreview(pass *diag.Pass, intro string, edits []plannedEdit) string {
	var b strings.Builder
	b.WriteString(intro + "\n")
	for _, e := range edits {
		b.WriteString(dockerconf.UnifiedDiff(e.path, e.before, e.after))
	}
	b.WriteString("Then: check the new configuration for conflicts; systemctl daemon-reload; systemctl restart docker.service; wait for the Docker API.\n")
	b.WriteString("A backup of each file is kept beside it; if docker does not come back, the files are restored and docker restarted again.\n")
	b.WriteString(serviceManagerLine(pass))
	b.WriteString(blastRadius(pass))
	return strings.TrimRight(b.String(), "\n")
}

// serviceManagerLine says which service manager will restart docker and in
// what state systemd holds docker.service, the start limit above all: a unit
// that used it up refuses every start until reset-failed.
func serviceManagerLine(pass *diag.Pass) string {
	sd := pass.Systemd()
	if sd == nil {
		return "Services: systemd not reached over D-Bus (see the systemd source); systemctl if on the node, else refused before any change.\n"
	}
	u := sd.Unit
	line := fmt.Sprintf("Services: %s; %s is %s (%s), last result %s, restarted %d times by systemd, start limit %s.\n",
		sd.Manager, u.Name, u.ActiveState, u.SubState, u.Result, u.NRestarts, u.StartLimit())
	if u.InStartLimit() {
		line += "docker.service has used up its start limit: systemd refuses to start it until reset-failed, so the plan runs systemctl reset-failed docker.service before the restart.\n"
	}
	return line
}

func restartRemediation(pass *diag.Pass) diag.Remediation {
	return diag.Remediation{
		ID:      pass.RemediationID("restart"),
		Title:   "Restart docker to apply the configuration on disk",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(pass, "No file changes: dockerd is restarted with the configuration on disk.", nil),
		Plan:    restartPlan(pass, nil),
	}
}
