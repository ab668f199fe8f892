package act

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func mustT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEditFileAtLinkTarget: a daemon.json that is a link is edited at its target inside
// the host root; the link stays, the target keeps its mode, the backup beside the target is
// 0600 (the file was 0644), and the undo restores the target.
func TestEditFileAtLinkTarget(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	target := filepath.Join(root, "srv/cfg/daemon.json")
	mustT(t, os.MkdirAll(filepath.Dir(target), 0o755))
	mustT(t, os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755))
	mustT(t, os.WriteFile(target, []byte("{}\n"), 0o644))
	mustT(t, os.Chmod(target, 0o644))
	// Absolute: resolved inside the root, as the node would in a pod.
	mustT(t, os.Symlink("/srv/cfg/daemon.json", filepath.Join(root, "etc/docker/daemon.json")))
	ctx := context.Background()
	out, detail, undo, err := try(ctx, editFile, e, editStep("/etc/docker/daemon.json", "{}\n", "{\"debug\": true}\n"))
	if err != nil || out != diag.OutcomeDone {
		t.Fatalf("apply: %v %v", out, err)
	}
	if !strings.Contains(detail, "/srv/cfg/daemon.json") {
		t.Errorf("detail does not name the target: %s", detail)
	}
	if l, err := os.Readlink(filepath.Join(root, "etc/docker/daemon.json")); err != nil || l != "/srv/cfg/daemon.json" {
		t.Fatalf("the link was replaced: %q %v", l, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "{\"debug\": true}\n" {
		t.Errorf("target holds %q", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Errorf("target mode %v", fi.Mode())
	}
	backups, _ := filepath.Glob(target + ".ksdoctor-*.bak")
	if len(backups) != 1 {
		t.Fatalf("backups %v", backups)
	}
	if fi, _ := os.Stat(backups[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode())
	}
	mustT(t, undo(ctx))
	if b, _ := os.ReadFile(target); string(b) != "{}\n" {
		t.Errorf("after undo the target holds %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(root, "etc/docker/daemon.json")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("after undo the link is gone: %v", err)
	}
}

// TestSysctlThroughLinksStaysInside: a /proc/sys entry that is a link is never written
// (the bug truncated its target); a persisted file's backup is 0600.
func TestSysctlThroughLinksStaysInside(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	victim := filepath.Join(root, "etc/passwd")
	mustT(t, os.MkdirAll(filepath.Join(root, "etc/sysctl.d"), 0o755))
	mustT(t, os.MkdirAll(filepath.Join(root, "proc/sys/net/ipv4"), 0o755))
	mustT(t, os.WriteFile(victim, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	mustT(t, os.Symlink("/etc/passwd", filepath.Join(root, "proc/sys/net/ipv4/ip_forward")))
	st := diag.Step{Kind: diag.StepSysctlSet, Sysctl: &diag.SysctlChange{Key: "net.ipv4.ip_forward", Value: "1", File: "/etc/sysctl.d/99-zz-ksdoctor-ip-forward.conf"}}
	if _, _, _, err := try(context.Background(), setSysctl, e, st); err == nil {
		t.Error("set a sysctl through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	conf := filepath.Join(root, st.Sysctl.File)
	mustT(t, os.WriteFile(conf, []byte("net.ipv4.ip_forward = 0\n"), 0o644))
	if _, _, _, err := try(context.Background(), persistSysctl, e, st); err != nil {
		t.Fatal(err)
	}
	backups, _ := filepath.Glob(conf + ".ksdoctor-backup-*")
	if len(backups) != 1 {
		t.Fatalf("backups %v", backups)
	}
	if fi, _ := os.Stat(backups[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode())
	}
}
