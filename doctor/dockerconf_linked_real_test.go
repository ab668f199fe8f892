package doctor_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
)

// TestRealLinkedDaemonJSONEditedAtTarget: daemon.json is a symlink (configuration
// management's way) to a 0640 file elsewhere inside the host root, and the real dockerd
// reads it through the link. docker.log-rotation-missing/set edits the target: the link
// stays, the target keeps its mode, the backup beside it is 0600, dockerd restarts with the
// new options; a failing apply rolls the target back to exactly what it held.
func TestRealLinkedDaemonJSONEditedAtTarget(t *testing.T) {
	n := newNode(t, []string{"--bip=10.128.0.1/24"}, "{\n  \"debug\": true\n}\n")
	const target = "/srv/cfg/daemon.json"
	old := n.read(n.daemonJSON)
	n.write(target, old)
	must(t, os.Chmod(filepath.Join(n.root, target), 0o640))
	// Relative, so that dockerd (through the link from outside) and the node agree on it.
	link := filepath.Join(n.root, n.daemonJSON)
	rel, err := filepath.Rel(filepath.Dir(link), filepath.Join(n.root, target))
	must(t, err)
	must(t, os.Remove(link))
	must(t, os.Symlink(rel, link))

	doc := n.doctor(checks.DockerLogRotationMissing)
	cand, err := doc.Prepare(context.Background(), "docker.log-rotation-missing/set", nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	linkStays := func(when string) {
		t.Helper()
		if got, err := os.Readlink(link); err != nil || got != rel {
			t.Fatalf("%s: daemon.json is no longer the link to %s: %q %v", when, rel, got, err)
		}
		if fi, err := os.Stat(filepath.Join(n.root, target)); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: target mode %v, want 0640 (%v)", when, fi.Mode(), err)
		}
	}

	// A plan that fails after the edit (a directive dockerd refuses) puts the target back.
	bad := cand.Remediation
	bad.Plan.Steps = append([]diag.Step(nil), bad.Plan.Steps...)
	for i, st := range bad.Plan.Steps {
		if st.File != nil {
			c := *st.File
			c.Content = strings.Replace(c.Content, "{", "{\n  \"ksdt-no-such-directive\": true,", 1)
			bad.Plan.Steps[i].File = &c
		}
	}
	res := n.executor().Apply(context.Background(), bad)
	if res.Error == "" || !res.RolledBack {
		t.Fatalf("want a rolled-back failure: %+v", res)
	}
	if got := n.read(target); got != old {
		t.Errorf("rollback left the target with:\n%s", got)
	}
	linkStays("after the rollback")
	if !n.d.Running() {
		t.Fatal("dockerd is not running after the rollback")
	}

	res = doc.Apply(context.Background(), cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("apply: %+v\n%s", res, n.d.LogTail(20))
	}
	linkStays("after the edit")
	now := n.read(target)
	if !strings.Contains(now, `"max-size"`) || !strings.Contains(now, `"debug": true`) {
		t.Errorf("target after the edit:\n%s", now)
	}
	backups, _ := filepath.Glob(filepath.Join(n.root, target) + ".ksdoctor-*.bak")
	var fromThisApply []string
	for _, b := range backups {
		data, _ := os.ReadFile(b)
		if string(data) != old {
			t.Errorf("backup %s holds %q", b, data)
		}
		fi, err := os.Stat(b)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s mode %v, want 0600", b, fi.Mode())
		}
		fromThisApply = append(fromThisApply, b)
	}
	if len(fromThisApply) == 0 {
		t.Error("no backup beside the target")
	}
	if others, _ := filepath.Glob(link + ".ksdoctor-*"); len(others) > 0 {
		t.Errorf("backups beside the link instead of the target: %v", others)
	}
	// The link's directory holds only the link: nothing replaced it, nothing leaked a file.
	ents, _ := os.ReadDir(filepath.Dir(link))
	for _, e := range ents {
		if e.Name() != filepath.Base(link) {
			t.Errorf("unexpected %s beside the link", e.Name())
		}
		if e.Type()&fs.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink", e.Name())
		}
	}
	if s := n.snapshot(checks.DockerLogRotationMissing); s.DockerConf != nil {
		if fs, _ := checks.DockerLogRotationMissing.Judge(s, nil); len(fs) != 0 {
			t.Errorf("log rotation still missing after the edit: %+v", fs)
		}
	}
}
