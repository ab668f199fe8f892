package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileLimitRefusesOversizedFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FileLimit(p, 9, "snapshot"); err == nil || !strings.Contains(err.Error(), "refused, not read in part") {
		t.Errorf("over the limit: %v", err)
	}
	if data, err := FileLimit(p, 10, "snapshot"); err != nil || string(data) != "0123456789" {
		t.Errorf("at the limit: %q, %v", data, err)
	}
}

func TestConfig(t *testing.T) {
	if c, err := Config(""); err != nil || c.Disk.WarnPercent != 80 {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	p := filepath.Join(t.TempDir(), "ksdoctor.yaml")
	if err := os.WriteFile(p, []byte("disk:\n  warnPercnt: 70\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Config(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("a typo must be an error naming the file: %v", err)
	}
	if _, err := Snapshot(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing snapshot must be an error")
	}
}
