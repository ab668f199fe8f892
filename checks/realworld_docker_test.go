package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
)

func init() { realWorldLoaders["docker"] = loadRealWorldDocker }

// loadRealWorldDocker reads a case's docker-info.json (a real `docker info --format
// '{{json .}}'` or GET /info answer, trimmed) through the gatherer's own conversion into the
// snapshot's Docker facts, and docker-bridge.json (GET /networks/bridge) when present. It
// runs before the dockerconf loader (kinds load in name order), so the configuration is
// judged against the release /info reports.
func loadRealWorldDocker(t *testing.T, dir string, snap *diag.Snapshot) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "docker-info.json"))
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	var info system.Info
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatalf("%s: docker-info.json: %v", dir, err)
	}
	if info.ServerVersion == "" {
		t.Fatalf("%s: docker-info.json has no ServerVersion: not a /info answer", dir)
	}
	facts := &diag.DockerFacts{Address: "unix:///var/run/docker.sock", Containers: []diag.Container{}}
	gather.DockerInfoFacts(info, facts)
	if data, err := os.ReadFile(filepath.Join(dir, "docker-bridge.json")); err == nil {
		var nw network.Inspect
		if err := json.Unmarshal(data, &nw); err != nil {
			t.Fatalf("%s: docker-bridge.json: %v", dir, err)
		}
		gather.DockerBridgeFacts(nw, facts)
	}
	snap.Docker = facts
	markGathered(snap, diag.SourceDocker)
	return true
}
