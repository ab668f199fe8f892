package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
)

// TestBoundedInputs: inputs over their limits are refused or not judged,
// with a clear reason, never read in part.
func TestBoundedInputs(t *testing.T) {
	dir := t.TempDir()
	t.Run("config over 1 MiB", func(t *testing.T) {
		p := filepath.Join(dir, "big.yaml")
		data := append([]byte("disk:\n  warnPercent: 80\n"), bytes.Repeat([]byte("# padding\n"), 110_000)...)
		os.WriteFile(p, data, 0o600)
		r := ksd(t, "sweep", "--config", p, "--from", filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json"))
		r.wantCode(t, exitCannot)
		if !strings.Contains(r.stderr, "over the 1.0 MiB limit") {
			t.Errorf("stderr: %s", r.stderr)
		}
	})
	t.Run("snapshot over 256 MiB", func(t *testing.T) {
		p := filepath.Join(dir, "big.json")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		// Sparse: no disk is used, and the size alone refuses it.
		if err := f.Truncate(load.MaxSnapshotFile + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r := ksd(t, "sweep", "--from", p)
		r.wantCode(t, exitCannot)
		if !strings.Contains(r.stderr, "over the 256.0 MiB limit") {
			t.Errorf("stderr: %s", r.stderr)
		}
	})
	t.Run("daemon.json over 4 MiB", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755)
		var b bytes.Buffer
		b.WriteString("{\n")
		for i := 0; b.Len() < 5<<20; i++ {
			fmt.Fprintf(&b, "  \"x-label-%07d\": \"%s\",\n", i, strings.Repeat("v", 60))
		}
		b.WriteString("  \"debug\": false\n}\n")
		os.WriteFile(filepath.Join(root, "etc/docker/daemon.json"), b.Bytes(), 0o644)
		r := ksd(t, "sweep", "--host-root", root, "--format", "json", "--docker-host", "unix://"+filepath.Join(root, "none.sock"),
			"--checks", "docker.config-unparseable,docker.config-conflict,docker.log-rotation-missing")
		r.wantCode(t, exitErrored)
		rep := decodeReport(t, []byte(r.stdout))
		if len(rep.Findings) != 0 {
			t.Errorf("findings on a file not judged: %v", findingIDs(rep))
		}
		for _, c := range rep.Checks {
			if c.Status != diag.StatusError || !strings.Contains(c.Error, "larger than the 4.0 MiB limit") {
				t.Errorf("%s: %s %q, want error: over the limit", c.ID, c.Status, c.Error)
			}
		}
		if strings.Contains(r.stdout, "unexpected end of file") {
			t.Errorf("the file was parsed truncated")
		}
	})
}
