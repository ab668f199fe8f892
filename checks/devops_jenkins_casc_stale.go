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
kubesphere-devops-system. The check compares the ConfigMap's last change
(its managedFields time) with the start time of the running devops-jenkins
pods, and judges a pod older than the change by what the installed version
does. Since KubeSphere 3.2 the devops controller (ks-devops' jenkinsconfig
controller) reloads the configuration into the running Jenkins
--reload-casc-delay (default 70 s) after the change: within that window
the finding is "reload pending" (info), after it nothing is reported. A
pod is stale (warning) before 3.2, or when no reload could happen: no
available devops-controller, the jenkinsconfig controller disabled
(--enabled-controllers), or the ConfigMap mounted with subPath (never
refreshed). The version comes from the devops-controller, ks-jenkins,
ks-apiserver and ks-installer image tags and the ks-installer
ClusterConfiguration; when none names it the finding is info, marked
unknown. The restart remediation does what the KubeSphere docs say,
'kubectl rollout restart deployment devops-jenkins': it stamps
kubectl.kubernetes.io/restartedAt on the pod template. Jenkins is down for
a few minutes and running builds are interrupted. Skipped on clusters
without KubeSphere DevOps.`,
	Needs:        []diag.Source{diag.SourceCluster},
	ClusterAreas: []string{diag.ClusterAreaJenkins},
	Run:          runJenkinsCascStale,
}

// reloadKind is what the installed KubeSphere DevOps does with a changed
// jenkins-casc-config.
type reloadKind int

const (
	reloadNever   reloadKind = iota // only a restart applies it
	reloadPending                   // the controller reloads it soon
	reloaded                        // the controller has reloaded it
	reloadUnknown                   // the version is unknown
)

type reloadVerdict struct {
	kind    reloadKind
	why     string
	version string
}

// reloadWindow is how long after a change the controller's reload may take
// beyond its delay (work queue, Jenkins applying the configuration).
const reloadWindow = time.Minute

// judgeReload decides by the installed version whether Jenkins reloads its
// configuration-as-code by itself (kubesphere/ks-devops: the jenkinsconfig
// controller, --reload-casc-delay).
func judgeReload(pass *diag.Pass, j *diag.JenkinsFacts) reloadVerdict {
	d := j.DevOps
	if d == nil {
		return reloadVerdict{kind: reloadUnknown, why: "this snapshot holds no KubeSphere DevOps version facts"}
	}
	version := orDash(d.Version)
	major, minor, known := versionMajorMinor(d.Version)
	switch {
	case d.Before32 && !known, known && (major < 3 || (major == 3 && minor < 2)):
		return reloadVerdict{kind: reloadNever, version: version,
			why: fmt.Sprintf("KubeSphere DevOps %s (before 3.2) has no devops controller reloading jenkins-casc-config: only a restart applies it.", orDash(d.VersionFrom))}
	case !known && !d.ControllerFound:
		return reloadVerdict{kind: reloadUnknown, why: "no devops controller, and no image tag or ks-installer label names the KubeSphere version"}
	case !d.ControllerFound:
		return reloadVerdict{kind: reloadNever, version: version,
			why: fmt.Sprintf("KubeSphere %s reloads jenkins-casc-config through the devops controller, but no devops-controller Deployment exists in %s.", version, j.Namespace)}
	case d.ControllerAvailable == 0:
		return reloadVerdict{kind: reloadNever, version: version,
			why: fmt.Sprintf("The devops controller %s has no available replica, so nothing reloads jenkins-casc-config.", d.Controller)}
	case d.ReloadDisabled != "":
		return reloadVerdict{kind: reloadNever, version: version,
			why: fmt.Sprintf("The devops controller %s runs with %s: it does not reload jenkins-casc-config.", d.Controller, d.ReloadDisabled)}
	case j.CascSubPath != "":
		return reloadVerdict{kind: reloadNever, version: version,
			why: fmt.Sprintf("%s: %s; a subPath mount never refreshes, so the controller's reload reads the old file.", j.Deployment, j.CascSubPath)}
	}
	if !known {
		version = "3.2 or later (a devops controller runs)"
	}
	if pass.Now().Sub(j.ConfigChangedAt) < d.Delay()+reloadWindow {
		return reloadVerdict{kind: reloadPending, version: version}
	}
	return reloadVerdict{kind: reloaded, version: version}
}

// versionMajorMinor parses "vX.Y.Z".
func versionMajorMinor(v string) (major, minor int, ok bool) {
	_, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor)
	return major, minor, err == nil
}

func devopsEvidence(j *diag.JenkinsFacts) []diag.Evidence {
	d := j.DevOps
	if d == nil {
		return nil
	}
	ev := []diag.Evidence{{Label: "KubeSphere DevOps version", Value: fmt.Sprintf("%s (%s)", orDash(d.Version), orDash(d.VersionFrom))}}
	if len(d.Sources) > 0 {
		ev = append(ev, diag.Evidence{Label: "Version sources", Value: strings.Join(d.Sources, "\n")})
	}
	ctrl := "not found"
	if d.ControllerFound {
		ctrl = fmt.Sprintf("%s (%s), %d/%d available", d.Controller, d.ControllerImage, d.ControllerAvailable, d.ControllerReplicas)
		if d.ReloadDisabled != "" {
			ctrl += "; " + d.ReloadDisabled
		}
		ctrl += fmt.Sprintf("; reload delay %s", d.Delay())
		if d.ReloadDelayFrom != "" {
			ctrl += " (" + d.ReloadDelayFrom + ")"
		}
	}
	return append(ev, diag.Evidence{Label: "Devops controller", Value: ctrl})
}

func runJenkinsCascStale(pass *diag.Pass) ([]diag.Finding, error) {
	c, err := clusterFacts(pass, diag.ClusterAreaJenkins)
	if err != nil {
		return nil, err
	}
	j := c.Jenkins
	switch {
	case j == nil:
		return nil, diag.Skip("KubeSphere DevOps is not installed: no jenkins-casc-config ConfigMap or devops-jenkins (ks-jenkins before 3.2) Deployment in kubesphere-devops-system")
	case !j.ConfigMapFound:
		return nil, diag.Skip("no ConfigMap jenkins-casc-config in %s", j.Namespace)
	case !j.DeploymentFound:
		return nil, diag.Skip("no Deployment devops-jenkins (ks-jenkins before 3.2) in %s", j.Namespace)
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
		Summary: fmt.Sprintf("jenkins-casc-config changed %s (by %s), after the running %s pod started %s: Jenkins may still use the old agent templates and images.",
			j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy), j.Deployment, podTime(stale[0]).Format(time.RFC3339)),
		Explanation: "Jenkins reads configuration-as-code at start or on an explicit reload; a ConfigMap edit alone does not reach a running Jenkins reliably. " +
			fmt.Sprintf("Restart the %s Deployment (kubectl -n %s rollout restart deployment %s) when no important build runs.", j.Deployment, j.Namespace, j.Deployment),
		Evidence: []diag.Evidence{
			{Label: "ConfigMap changed", Value: fmt.Sprintf("%s by %s", j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy))},
			{Label: "Agent images in jenkins-casc-config", Value: orDash(strings.Join(j.ConfigImages, ", "))},
			{Label: "Running " + j.Deployment + " pods started before the change", Table: pods},
		},
	}
	f.Evidence = append(f.Evidence, devopsEvidence(j)...)
	switch v := judgeReload(pass, j); v.kind {
	case reloadPending:
		f.Severity = diag.Info
		f.Title = "Jenkins configuration-as-code reload pending"
		f.Summary = fmt.Sprintf("jenkins-casc-config changed %s ago; the devops controller (KubeSphere %s) reloads it into the running Jenkins about %s after a change.",
			age(pass.Now(), j.ConfigChangedAt), v.version, j.DevOps.Delay())
		f.Explanation = "Nothing to do yet: wait for the reload, then sweep again. If the agents still use the old images after that, restart " + j.Deployment + "."
		return []diag.Finding{f}, nil
	case reloaded:
		return nil, nil
	case reloadUnknown:
		f.Severity = diag.Info
		f.Title = "Jenkins may run a stale configuration-as-code (KubeSphere version unknown)"
		f.Summary = fmt.Sprintf("jenkins-casc-config changed %s, after the running %s pod started; whether this KubeSphere reloads it by itself is unknown: %s.",
			j.ConfigChangedAt.Format(time.RFC3339), j.Deployment, v.why)
		f.Explanation = "Since KubeSphere 3.2 the devops controller reloads the configuration about 70 s after a change; before, only a restart applies it. " +
			"Check the KubeSphere version (kubectl -n kubesphere-system get deploy ks-apiserver -o jsonpath='{..image}') and restart " + j.Deployment + " if it is older than 3.2."
	default:
		f.Explanation = v.why + " " + f.Explanation
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Why no reload applies it", Value: v.why})
	}
	restarted, _ := time.Parse(time.RFC3339, j.RestartedAt)
	if !restarted.IsZero() && !restarted.Before(j.ConfigChangedAt) {
		f.Severity = diag.Info
		f.Title = "Jenkins restart requested, old pod still running"
		f.Summary = fmt.Sprintf("A rollout restart of %s was requested at %s, after the configuration changed; the old pod is still running.", j.Deployment, j.RestartedAt)
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Restart requested", Value: j.RestartedAt})
		return []diag.Finding{f}, nil
	}
	stamp := pass.Now().UTC().Format(time.RFC3339)
	f.Remediations = []diag.Remediation{{
		ID:    "devops.jenkins-casc-stale/restart",
		Title: "Rollout restart the " + j.Deployment + " Deployment",
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
