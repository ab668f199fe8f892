package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// ---------------------------------------------------------------------------
// devops.jenkins-casc-stale

// DevopsJenkinsCascStale reports a Jenkins that runs an older CasC
// configuration than its ConfigMap holds.
var DevopsJenkinsCascStale = diag.Check{
	ID:    "devops.jenkins-casc-stale",
	Title: "KubeSphere DevOps Jenkins runs a stale configuration-as-code",
	Doc: `KubeSphere DevOps keeps Jenkins' configuration-as-code (agent pod templates
and their images) in the ConfigMap jenkins-casc-config of
kubesphere-devops-system. After an edit, Jenkins keeps the old configuration
until it reloads: the mounted file refreshes only after kubelet's sync (never
for subPath mounts) and the reload may not happen. The check compares the
ConfigMap's last change (its managedFields time) with the start time of the
running devops-jenkins pods; evidence lists the agent images named in the
ConfigMap and the images the Jenkins pod runs. The restart remediation does
what the KubeSphere docs say, 'kubectl rollout restart deployment
devops-jenkins': it stamps kubectl.kubernetes.io/restartedAt on the pod
template. Jenkins is down for a few minutes and running builds are
interrupted. Skipped on clusters without KubeSphere DevOps.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runJenkinsCascStale,
}

func runJenkinsCascStale(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaJenkins)
	if err != nil {
		return nil, err
	}
	j := c.Jenkins
	switch {
	case j == nil:
		return nil, diag.Skip("KubeSphere DevOps is not installed: no jenkins-casc-config ConfigMap or devops-jenkins Deployment in kubesphere-devops-system")
	case !j.ConfigMapFound:
		return nil, diag.Skip("no ConfigMap jenkins-casc-config in %s", j.Namespace)
	case !j.DeploymentFound:
		return nil, diag.Skip("no Deployment devops-jenkins in %s", j.Namespace)
	}
	var stale []diag.PodFacts
	for _, p := range j.Pods {
		if t := podTime(p); !t.IsZero() && t.Before(j.ConfigChangedAt) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	pods := &diag.Table{Columns: []string{"POD", "STARTED", "IMAGES"}}
	for _, p := range stale {
		var imgs []string
		for _, ct := range p.Containers {
			imgs = append(imgs, ct.Image)
		}
		pods.Rows = append(pods.Rows, []string{p.Name, podTime(p).Format(time.RFC3339), strings.Join(imgs, ", ")})
	}
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    "Jenkins started before its configuration-as-code changed",
		Summary: fmt.Sprintf("jenkins-casc-config changed %s (by %s), after the running devops-jenkins pod started %s: Jenkins may still use the old agent templates and images.",
			j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy), podTime(stale[0]).Format(time.RFC3339)),
		Explanation: "Jenkins reads configuration-as-code at start or on an explicit reload; a ConfigMap edit alone does not reach a running Jenkins reliably. " +
			"Restart the devops-jenkins Deployment (kubectl -n kubesphere-devops-system rollout restart deployment devops-jenkins) when no important build runs.",
		Evidence: []diag.Evidence{
			{Label: "ConfigMap changed", Value: fmt.Sprintf("%s by %s", j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy))},
			{Label: "Agent images in jenkins-casc-config", Value: orDash(strings.Join(j.ConfigImages, ", "))},
			{Label: "Running devops-jenkins pods started before the change", Table: pods},
		},
	}
	restarted, _ := time.Parse(time.RFC3339, j.RestartedAt)
	if !restarted.IsZero() && !restarted.Before(j.ConfigChangedAt) {
		f.Severity = diag.Info
		f.Title = "Jenkins restart requested, old pod still running"
		f.Summary = fmt.Sprintf("A rollout restart of devops-jenkins was requested at %s, after the configuration changed; the old pod is still running.", j.RestartedAt)
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Restart requested", Value: j.RestartedAt})
		return []diag.Finding{f}, nil
	}
	stamp := s.Now().UTC().Format(time.RFC3339)
	f.Remediations = []diag.Remediation{{
		ID:    "devops.jenkins-casc-stale/restart",
		Title: "Rollout restart the devops-jenkins Deployment",
		Risk:  diag.RiskMedium,
		Preview: fmt.Sprintf("Rollout restart Deployment %s/%s as 'kubectl rollout restart' does: set the pod template annotation "+
			"kubectl.kubernetes.io/restartedAt=%s (a strategic merge patch). The Deployment replaces the Jenkins pod; Jenkins is "+
			"unavailable for a few minutes and running builds are interrupted. Needs permission to patch deployments in %s.",
			j.Namespace, j.Deployment, stamp, j.Namespace),
		Plan: diag.Plan{Steps: []diag.Step{{
			Kind:        diag.StepRestartWorkload,
			Description: fmt.Sprintf("rollout restart deployment %s/%s (restartedAt %s)", j.Namespace, j.Deployment, stamp),
			Workload:    &diag.WorkloadTarget{Kind: "Deployment", Namespace: j.Namespace, Name: j.Deployment, RestartedAt: stamp},
		}}},
	}}
	return []diag.Finding{f}, nil
}
