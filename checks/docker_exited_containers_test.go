package checks

import (
	"slices"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestDockerExitedContainers(t *testing.T) {
	exited := func(id, name string) diag.Container {
		return diag.Container{ID: id, Name: name, State: "exited", CreatedAt: t0.Add(-time.Hour)}
	}
	tests := []struct {
		name       string
		containers []diag.Container
		want       []string
		steps      int
	}{
		{"none exited", []diag.Container{{ID: "a", Name: "web", State: "running"}}, nil, 0},
		{"only kubelet's", []diag.Container{exited("b", "k8s_app_pod_ns_uid_0")}, []string{"docker.exited-containers=info"}, 0},
		{"many of ours", []diag.Container{exited("c1", "ci-1"), exited("c2", "ci-2"), exited("c3", "ci-3")}, []string{"docker.exited-containers=warning"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &diag.Snapshot{StartedAt: t0, Sources: map[diag.Source]*diag.SourceStatus{diag.SourceDocker: {OK: true}},
				Docker: &diag.DockerFacts{Reachable: true, Containers: tc.containers}}
			cfg := diag.DefaultConfig()
			cfg.ExitedContainers.WarnCount = 3
			fs, err := DockerExitedContainers.Judge(s, cfg)
			if err != nil || !slices.Equal(ids(fs), tc.want) {
				t.Fatalf("got %v (%v), want %v", ids(fs), err, tc.want)
			}
			steps := 0
			if len(fs) == 1 {
				if r, ok := fs[0].Remediation("docker.exited-containers/remove"); ok {
					steps = len(r.Plan.Steps)
				}
			}
			if steps != tc.steps {
				t.Errorf("%d removal steps, want %d", steps, tc.steps)
			}
		})
	}
}
