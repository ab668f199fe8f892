package checks

import (
	"os"
	"path/filepath"
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
	var m kube.Manifests
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := kube.DecodeManifests(data, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	facts, err := gather.ClusterFromObjects(m.Objects, m.InstallerVersion)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	snap.Cluster = facts
	markGathered(snap, diag.SourceCluster)
	return true
}
