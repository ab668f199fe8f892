package act

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// tornContent is a large daemon.json (so a write takes a while) whose value n tells the
// versions apart.
func tornContent(n int) string {
	return fmt.Sprintf("{\n  \"labels\": [\"v=%d\", \"pad=%s\"],\n  \"debug\": %v\n}\n", n, strings.Repeat("x", 512<<10), n%2 == 0)
}

// TestTornWriteChild is the child of TestKilledWriterLeavesNoTornFile: it edits the file
// through the executor in a loop until killed.
func TestTornWriteChild(t *testing.T) {
	root := os.Getenv("KSDT_TORN_ROOT")
	if root == "" {
		t.Skip("child process of TestKilledWriterLeavesNoTornFile")
	}
	e := &Executor{HostRoot: root}
	p := filepath.Join(root, "etc/docker/daemon.json")
	for i := 1; ; i++ {
		cur, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st := diag.Step{Kind: diag.StepFileEdit, File: &diag.FileEdit{Path: "/etc/docker/daemon.json", BeforeSHA256: sha256Hex(cur), Content: tornContent(i)}}
		if out, detail, _, err := try(context.Background(), editFile, e, st); err != nil || out != diag.OutcomeDone {
			t.Fatalf("edit %d: %v %s %v", i, out, detail, err)
		}
		// Keep the backups from filling the disk.
		olds, _ := filepath.Glob(p + ".ksdoctor-*.bak")
		for _, o := range olds {
			os.Remove(o)
		}
	}
}

// TestKilledWriterLeavesNoTornFile SIGKILLs a process in the middle of config edits and
// checks the file is always one whole version that parses.
func TestKilledWriterLeavesNoTornFile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	edited := 0
	for round := range 6 {
		root := t.TempDir()
		p := filepath.Join(root, "etc/docker/daemon.json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(tornContent(0)), 0o640); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestTornWriteChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KSDT_TORN_ROOT="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+round*97) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		d, err := dockerconf.ParseDaemonJSON(data)
		if err != nil {
			t.Fatalf("round %d: torn file: %v", round, err)
		}
		if _, ok := d.Directive("labels"); !ok || len(data) < 512<<10 {
			t.Fatalf("round %d: incomplete file (%d bytes)", round, len(data))
		}
		if !strings.Contains(string(data), `"v=0"`) {
			edited++
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("round %d: mode %v, want 0640 kept", round, fi.Mode().Perm())
		}
	}
	if edited == 0 {
		t.Fatal("the child never got to edit the file: the test proves nothing")
	}
	t.Logf("%d of 6 kills landed after at least one edit", edited)
}
