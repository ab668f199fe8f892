package checks

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerExitedContainers reports exited containers that pile up.
var DockerExitedContainers = diag.Check{
	ID:    "docker.exited-containers",
	Title: "Exited containers piling up",
	Doc: `Exited containers keep their writable layer and logs on the Docker
data-root until removed. kubelet garbage-collects the dead containers it
created (k8s_ names, io.kubernetes labels), but containers started by hand,
by CI agents through the Docker socket, or by old cron jobs stay forever and
fill the disk. The remediation removes exactly the exited non-kubelet
containers listed in its preview; a container that was started again in the
meantime is skipped, never removed, and running containers are never
touched.`,
	Needs: []diag.Source{diag.SourceDocker},
	// Sizes, exit times and log paths are evidence; the removal plan
	// needs the IDs only, so a fix gathers neither (1,000 exited
	// containers would cost 1,000 inspects before the first removal).
	WantsEvidenceOnly: true,
	Expensive:         []diag.Source{diag.SourceDockerSizes, diag.SourceDockerStopped},
	Wants: func(s *diag.Snapshot, _ *diag.Config) []diag.Source {
		if s.Docker == nil || !slices.ContainsFunc(s.Docker.Containers, func(c diag.Container) bool { return c.State == "exited" }) {
			return nil
		}
		var more []diag.Source
		if !s.Docker.SizesGathered {
			more = append(more, diag.SourceDockerSizes)
		}
		if !s.Docker.StoppedInspected {
			more = append(more, diag.SourceDockerStopped)
		}
		return more
	},
	Run: runExitedContainers,
}

func exitedContainers(pass *diag.Pass) (own, kubelet []diag.Container) {
	for _, c := range pass.Docker().Containers {
		if c.State != "exited" {
			continue
		}
		if c.KubeletManaged() {
			kubelet = append(kubelet, c)
		} else {
			own = append(own, c)
		}
	}
	// Oldest first: what has waited longest is listed first.
	sort.SliceStable(own, func(i, j int) bool { return finishedOrCreated(own[i]).Before(finishedOrCreated(own[j])) })
	return own, kubelet
}

func finishedOrCreated(c diag.Container) time.Time {
	if !c.FinishedAt.IsZero() {
		return c.FinishedAt
	}
	return c.CreatedAt
}

func runExitedContainers(pass *diag.Pass) ([]diag.Finding, error) {
	own, kubelet := exitedContainers(pass)
	if len(own) == 0 && len(kubelet) == 0 {
		return nil, nil
	}
	var ownBytes int64
	for _, c := range own {
		ownBytes += c.SizeRw
	}
	sev := diag.Info
	if len(own) > 0 && (len(own) >= pass.Config.ExitedContainers.WarnCount || ownBytes >= pass.Config.ExitedContainers.WarnBytes) {
		sev = diag.Warning
	}
	f := diag.Finding{Severity: sev}
	sizes := ""
	if pass.Docker().SizesGathered {
		sizes = fmt.Sprintf(", holding %s of writable layers", diag.FormatBytes(ownBytes))
	}
	switch {
	case len(own) > 0:
		f.Title = fmt.Sprintf("%s not managed by kubelet", plural(len(own), "exited container", "exited containers"))
		f.Summary = fmt.Sprintf("%s started outside Kubernetes exited and will stay on disk%s: kubelet never removes them.",
			plural(len(own), "container", "containers"), sizes)
	default:
		f.Title = fmt.Sprintf("%s managed by kubelet", plural(len(kubelet), "exited container", "exited containers"))
		f.Summary = "Only kubelet-managed containers have exited; kubelet garbage-collects them itself."
	}
	f.Explanation = "Exited containers keep their writable layer and json-file logs under the Docker data-root. " +
		"kubelet collects the dead containers it created; containers started by `docker run`, CI agents using the " +
		"Docker socket, or cron jobs are never collected and pile up."
	f.Evidence = append(f.Evidence, diag.Evidence{Label: "Exited, not managed by kubelet", Value: strconv.Itoa(len(own))})
	if len(own) > 0 {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Containers to remove", Table: containerTable(pass, own)})
	}
	f.Evidence = append(f.Evidence, diag.Evidence{Label: "Exited, managed by kubelet (collected by kubelet, left alone)", Value: strconv.Itoa(len(kubelet))})
	if len(kubelet) > 0 {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Kubelet-managed exited containers", Table: containerTable(pass, kubelet)})
	}
	if len(own) > 0 {
		f.Remediations = []diag.Remediation{removeExitedRemediation(pass.RemediationID("remove"), pass, own)}
	}
	return []diag.Finding{f}, nil
}

func containerTable(pass *diag.Pass, cs []diag.Container) *diag.Table {
	t := &diag.Table{Columns: []string{"ID", "NAME", "IMAGE", "EXIT", "FINISHED", "SIZE"}}
	for _, c := range cs {
		size := "-"
		if pass.Docker().SizesGathered {
			size = diag.FormatBytes(c.SizeRw)
		}
		t.Rows = append(t.Rows, []string{diag.ShortID(c.ID), c.Name, c.Image, strconv.Itoa(c.ExitCode), age(pass.Now(), finishedOrCreated(c)) + " ago", size})
	}
	return t
}

// removeContainerSteps plans the removal of exactly cs, each only while it
// is still exited.
func removeContainerSteps(cs []diag.Container) []diag.Step {
	steps := make([]diag.Step, 0, len(cs))
	for _, c := range cs {
		steps = append(steps, diag.Step{
			Kind:        diag.StepRemoveContainer,
			Description: fmt.Sprintf("docker rm %s (%s)", diag.ShortID(c.ID), c.Name),
			Container:   &diag.ContainerTarget{ID: c.ID, Name: c.Name},
		})
	}
	return steps
}

func removeExitedRemediation(id string, pass *diag.Pass, own []diag.Container) diag.Remediation {
	var b strings.Builder
	fmt.Fprintf(&b, "Remove %s not managed by kubelet:\n", plural(len(own), "exited container", "exited containers"))
	var total int64
	for _, c := range own {
		total += c.SizeRw
		fmt.Fprintf(&b, "  %s  %-30s exit %d\n", diag.ShortID(c.ID), c.Name, c.ExitCode)
	}
	if pass.Docker().SizesGathered {
		fmt.Fprintf(&b, "Frees about %s of writable layers (plus their logs).\n", diag.FormatBytes(total))
	}
	b.WriteString("Each container is removed only if it is still exited; one started again since this preview is skipped. Running containers and kubelet-managed containers are never touched. Volumes are kept.")
	return diag.Remediation{
		ID:      id,
		Title:   fmt.Sprintf("Remove %s", plural(len(own), "exited container", "exited containers")),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan:    diag.Plan{Steps: removeContainerSteps(own)},
	}
}
