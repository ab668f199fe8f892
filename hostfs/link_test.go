package hostfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestProcLink: a plain directory, a plain symlink to it and / hold no
// procfs link; /proc/PID/root and /proc/self/... do.
func TestProcLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "link"), "/"} {
		if got := New(p).ProcLink(); got != "" {
			t.Errorf("ProcLink(%s) = %q, want none", p, got)
		}
	}
	root := fmt.Sprintf("/proc/%d/root", os.Getpid())
	for p, want := range map[string]string{root: root, root + "/var/lib": root, "/proc/self/root": "/proc/self"} {
		if got := New(p).ProcLink(); got != want {
			t.Errorf("ProcLink(%s) = %q, want %q", p, got, want)
		}
	}
}
