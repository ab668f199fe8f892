package checks

import (
	"fmt"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerDaemonUnreachable reports a Docker socket that does not answer.
var DockerDaemonUnreachable = diag.Check{
	ID:    "docker.daemon-unreachable",
	Title: "Docker daemon unreachable",
	Doc: `The Docker Engine API did not answer on its socket. On a Kubernetes node
that runs Docker this means kubelet cannot start or inspect containers and
the node goes NotReady. Every check that needs Docker is skipped while this
holds. Look at "systemctl status docker" and "journalctl -u docker": a
daemon that refuses to start often names a conflict between daemon.json and
its flags.`,
	Uses: []diag.Source{diag.SourceDocker},
	Run: func(pass *diag.Pass) ([]diag.Finding, error) {
		if pass.Has(diag.SourceDocker) {
			return nil, nil
		}
		addr, reason := pass.DockerHost(), "not gathered"
		if addr == "" {
			addr = "(unknown)"
		}
		if d := pass.Docker(); d != nil {
			addr, reason = d.Address, d.Error
		}
		if st := pass.Status(diag.SourceDocker); st != nil && st.Error != "" {
			reason = st.Error
		}
		return []diag.Finding{{
			Severity: diag.Critical,
			Title:    "Docker daemon does not answer",
			Summary:  fmt.Sprintf("The Docker daemon at %s did not answer: kubelet cannot manage containers on this node and the Docker checks were skipped.", addr),
			Explanation: "Check the service with `systemctl status docker` and `journalctl -u docker -n 50`. " +
				"If dockerd refuses to start, a directive set both as a flag and in /etc/docker/daemon.json is a common cause.",
			Evidence: []diag.Evidence{
				{Label: "Address", Value: addr},
				{Label: "Error", Value: reason},
			},
		}}, nil
	},
}
