package checks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

func init() { realWorldLoaders["dockerconf"] = loadRealWorldDockerConf }

// loadRealWorldDockerConf reads a case's root/ host tree through the same pure
// resolution the gatherer uses (docker.service, drop-ins, environment files,
// daemon.json) and, when the case has a cmdline file, the running dockerd's argv
// (NUL- or newline-separated).
func loadRealWorldDockerConf(t *testing.T, dir string, snap *diag.Snapshot) bool {
	t.Helper()
	root := filepath.Join(dir, "root")
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return false
	}
	var running []string
	if data, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		sep := []byte{0}
		if !bytes.Contains(data, sep) {
			sep = []byte("\n")
		}
		for _, w := range bytes.Split(data, sep) {
			if w := string(bytes.TrimRight(w, "\r")); w != "" || sep[0] == 0 {
				running = append(running, w)
			}
		}
		for len(running) > 0 && running[len(running)-1] == "" {
			running = running[:len(running)-1]
		}
		if len(running) == 0 {
			t.Fatalf("%s: cmdline is empty", dir)
		}
		snap.Dockerd = &diag.DockerdProcess{PID: 1, Args: running, Found: "corpus cmdline"}
		markGathered(snap, diag.SourceDockerdProc)
	}
	// Judged against the release the case's docker-info.json reports (the docker loader
	// runs first), as the gatherer judges against the Docker API's version.
	var v dockerconf.Version
	if snap.Docker != nil {
		v, _ = dockerconf.ParseVersion(snap.Docker.Version)
	}
	snap.DockerConf = dockerconf.ResolveFor(os.DirFS(root), running, v)
	if v.Known() {
		snap.DockerConf.DockerdVersionSource = "docker-info.json ServerVersion " + snap.Docker.Version
	}
	markGathered(snap, diag.SourceDockerConf)
	return true
}
