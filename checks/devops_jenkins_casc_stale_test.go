package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestJenkinsCascByVersion: a pod older than the CasC change is judged by
// what the installed KubeSphere DevOps does with the change.
func TestJenkinsCascByVersion(t *testing.T) {
	ctrl := func(avail int32) *diag.DevOpsFacts {
		return &diag.DevOpsFacts{Version: "v3.3.2", VersionFrom: "devops-controller image", ControllerFound: true,
			Controller: "kubesphere-devops-system/devops-controller", ControllerReplicas: 1, ControllerAvailable: avail}
	}
	tests := []struct {
		name    string
		devops  *diag.DevOpsFacts
		subPath string
		changed time.Duration // before now
		want    diag.Severity // "" = no finding
		remedy  bool
	}{
		{"3.1: restart needed", &diag.DevOpsFacts{Version: "v3.1.1"}, "", time.Hour, diag.Warning, true},
		{"ks-jenkins with a bare Jenkins tag", &diag.DevOpsFacts{Before32: true}, "", time.Hour, diag.Warning, true},
		{"3.3 within the reload window", ctrl(1), "", 30 * time.Second, diag.Info, false},
		{"3.3 after the reload", ctrl(1), "", time.Hour, "", false},
		{"3.3 custom delay, still pending", func() *diag.DevOpsFacts { d := ctrl(1); d.ReloadDelay = "10m"; return d }(), "", 5 * time.Minute, diag.Info, false},
		{"3.3 controller down", ctrl(0), "", time.Hour, diag.Warning, true},
		{"3.3 reload disabled", func() *diag.DevOpsFacts {
			d := ctrl(1)
			d.ReloadDisabled = "--enabled-controllers jenkinsconfig=false"
			return d
		}(), "", time.Hour, diag.Warning, true},
		{"3.3 subPath mount", ctrl(1), "container jenkins mounts jenkins-casc-config at /x with subPath jenkins.yaml", time.Hour, diag.Warning, true},
		{"3.4 without a controller", &diag.DevOpsFacts{Version: "v3.4.0"}, "", time.Hour, diag.Warning, true},
		{"unknown version", &diag.DevOpsFacts{}, "", time.Hour, diag.Info, true},
		{"older snapshot", nil, "", time.Hour, diag.Info, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &diag.JenkinsFacts{Namespace: "kubesphere-devops-system", ConfigMapFound: true, DeploymentFound: true, Deployment: "devops-jenkins",
				ConfigChangedAt: t0.Add(-tt.changed), ConfigChangedBy: "kubectl-edit", CascSubPath: tt.subPath, DevOps: tt.devops,
				Pods: []diag.PodFacts{{Name: "devops-jenkins-x", StartedAt: t0.Add(-48 * time.Hour)}}}
			fs, err := DevopsJenkinsCascStale.Judge(clusterSnap(&diag.ClusterFacts{Jenkins: j}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %s %q", fs[0].Severity, fs[0].Title)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != tt.want {
				t.Fatalf("got %+v, want one %s", fs, tt.want)
			}
			if got := len(fs[0].Remediations) > 0; got != tt.remedy {
				t.Errorf("remediation offered %v, want %v", got, tt.remedy)
			}
			if tt.want == diag.Warning && strings.Contains(fs[0].Title, "unknown") {
				t.Errorf("warning titled unknown: %q", fs[0].Title)
			}
		})
	}
}

func TestJenkinsCascStale(t *testing.T) {
	j := &diag.JenkinsFacts{Namespace: "kubesphere-devops-system", ConfigMapFound: true, DeploymentFound: true, Deployment: "devops-jenkins",
		ConfigChangedAt: t0.Add(-time.Hour), ConfigChangedBy: "kubectl-edit", ConfigImages: []string{"builder:v2"},
		Pods: []diag.PodFacts{{Name: "devops-jenkins-x", StartedAt: t0.Add(-48 * time.Hour), Containers: []diag.ContainerStatus{{Image: "ks-jenkins:1"}}}}}
	j.DevOps = &diag.DevOpsFacts{Version: "v3.1.1", VersionFrom: "ks-apiserver image kubesphere/ks-apiserver:v3.1.1"}
	s := clusterSnap(&diag.ClusterFacts{Jenkins: j})
	fs, err := DevopsJenkinsCascStale.Judge(s, nil)
	if err != nil || len(fs) != 1 || fs[0].Severity != diag.Warning || len(fs[0].Remediations) != 1 {
		t.Fatalf("stale: %+v %v", fs, err)
	}
	w := fs[0].Remediations[0].Plan.Steps[0].Workload
	if w.RestartedAt != t0.Format(time.RFC3339) || w.Name != "devops-jenkins" {
		t.Errorf("workload %+v", w)
	}
	j.RestartedAt = t0.Add(-time.Minute).Format(time.RFC3339)
	fs, _ = DevopsJenkinsCascStale.Judge(s, nil)
	if len(fs) != 1 || fs[0].Severity != diag.Info || len(fs[0].Remediations) != 0 {
		t.Errorf("restart pending: %+v", fs)
	}
	j.Pods[0].StartedAt = t0.Add(-time.Minute)
	if fs, _ := DevopsJenkinsCascStale.Judge(s, nil); len(fs) != 0 {
		t.Errorf("fresh pod: %+v", fs)
	}
	s.Cluster.Jenkins = nil
	if _, err := DevopsJenkinsCascStale.Judge(s, nil); err == nil {
		t.Error("no devops: want skip")
	} else if _, ok := diag.IsSkip(err); !ok {
		t.Errorf("no devops: %v, want skip", err)
	}
}
