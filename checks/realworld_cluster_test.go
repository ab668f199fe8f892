package checks

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

func init() {
	realWorldLoaders["cluster"] = loadRealWorldCluster
}

// loadRealWorldCluster reads cluster/*.yaml (Kubernetes objects) and
// reduces them with the gatherer's own pure reducers.
func loadRealWorldCluster(t *testing.T, dir string, snap *diag.Snapshot) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "cluster", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		return false
	}
	m := kube.ReadManifests(t, files)
	facts, err := gather.ClusterFromObjects(m.Objects, m.InstallerVersion)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	snap.Cluster = facts
	markGathered(snap, diag.SourceCluster)
	return true
}

// TestRealWorldClusterWords: what the cluster corpus verdicts say, beyond
// their severities: the restart names the Deployment the version runs, an
// unknown version says so, a pending reload offers no restart.
func TestRealWorldClusterWords(t *testing.T) {
	run := func(name string) diag.Finding {
		t.Helper()
		snap := loadRealWorldCase(t, filepath.Join("../testdata/realworld", name))
		rep := diag.Run([]diag.Check{DevopsJenkinsCascStale}, snap, diag.DefaultConfig(), diag.RunOptions{})
		f, ok := rep.Finding("devops.jenkins-casc-stale")
		if !ok {
			t.Fatalf("%s: no finding", name)
		}
		return f
	}
	f := run("cluster-ks-devops-3.1-casc-stale")
	if r, ok := f.Remediation("devops.jenkins-casc-stale/restart"); !ok || r.Plan.Steps[0].Workload.Name != "ks-jenkins" {
		t.Errorf("3.1 restart: %+v", f.Remediations)
	}
	if f = run("cluster-ks-devops-unknown-version"); !strings.Contains(f.Title, "unknown") {
		t.Errorf("unknown version titled %q", f.Title)
	}
	if f = run("cluster-ks-devops-3.3-reload-pending"); !strings.Contains(f.Title, "reload pending") || len(f.Remediations) != 0 {
		t.Errorf("pending: %q %+v", f.Title, f.Remediations)
	}
}
