package gather

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

func TestHostPathKeepsLinksInside(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "data/docker"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/lib"), 0o755)
	// The seed's move: /var/lib/docker -> /data/docker (absolute target).
	os.Symlink("/data/docker", filepath.Join(root, "var/lib/docker"))
	os.Symlink("../../data", filepath.Join(root, "var/lib/rel"))
	for _, tt := range []struct{ in, want string }{
		{"/var/lib/docker", filepath.Join(root, "data/docker")},
		{"/var/lib/rel/docker", filepath.Join(root, "data/docker")},
		{"/data/../data/docker", filepath.Join(root, "data/docker")},
	} {
		got, err := hostfs.New(root).HostPath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("HostPath(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	os.Symlink("loop", filepath.Join(root, "loop"))
	if _, err := hostfs.New(root).HostPath("/loop"); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Errorf("symlink loop: %v", err)
	}
}

func TestMountFor(t *testing.T) {
	mounts := []mountEntry{{"/", "ext4", "/dev/vda1"}, {"/var", "xfs", "/dev/vdb"}, {"/var/lib/docker", "ext4", "/dev/vdc"}, {"/var/lib/docker2x", "tmpfs", "tmpfs"}}
	for _, tt := range []struct{ path, want string }{
		{"/var/lib/docker", "/var/lib/docker"},
		{"/var/lib/docker/overlay2", "/var/lib/docker"},
		{"/var/lib/docker2", "/var"},
		{"/etc", "/"},
	} {
		if m, ok := mountFor(mounts, tt.path); !ok || m.mountPoint != tt.want {
			t.Errorf("mountFor(%s) = %v", tt.path, m)
		}
	}
}

// TestMountPointUnderProcRoot: with --host-root /proc/PID/root (a pod's
// view of another mount namespace), mount points come from PID's own
// table: / is on /, not on this process's /proc.
func TestMountPointUnderProcRoot(t *testing.T) {
	root := fmt.Sprintf("/proc/%d/root", os.Getpid())
	if pid, ok := procRootPID(root); !ok || pid != fmt.Sprint(os.Getpid()) {
		t.Fatalf("procRootPID(%s) = %s, %v", root, pid, ok)
	}
	for _, not := range []string{"/", "/host", "/proc/self/root", "/proc/1/root/x", "/proc//root"} {
		if _, ok := procRootPID(not); ok {
			t.Errorf("procRootPID(%s) took it for a process's root", not)
		}
	}
	g := New(Options{HostRoot: root, DockerHost: "unix:///nonexistent.sock", SourceTimeout: time.Second})
	defer g.Close()
	snap := g.Collect(context.Background(), diag.Tool{Name: "ksdoctor"}, []diag.Check{{ID: "x.y", Needs: []diag.Source{diag.SourceFilesystems}}}, diag.DefaultConfig(), nil)
	fs, ok := snap.FilesystemFor(PurposeRoot)
	if !ok || fs.MountPoint != "/" {
		t.Errorf("root filesystem under %s: %+v", root, fs)
	}
}

func TestHostFactsUnderHostRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/lib/docker"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("node-7\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("NAME=\"CentOS Linux\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"), 0o644)
	g := New(Options{HostRoot: root, DockerHost: "unix://" + filepath.Join(root, "no.sock"), SourceTimeout: time.Second})
	defer g.Close()
	snap := g.Collect(context.Background(), diag.Tool{Name: "ksdoctor"}, []diag.Check{{ID: "x.y", Needs: []diag.Source{diag.SourceFilesystems}}}, diag.DefaultConfig(), nil)
	if snap.Host == nil || snap.Host.Hostname != "node-7" || snap.Host.OS != "CentOS Linux 7 (Core)" {
		t.Errorf("host facts %+v", snap.Host)
	}
	// Docker is down: the filesystem source still looks at /var/lib/docker under the host root.
	if snap.Has(diag.SourceDocker) {
		t.Error("docker source succeeded on a missing socket")
	}
	fs, ok := snap.FilesystemFor(PurposeDockerRoot)
	if !ok || fs.Error != "" || fs.Path != "/var/lib/docker" || fs.TotalBytes == 0 {
		t.Errorf("data-root fs %+v", fs)
	}
}

func TestSourceDeadlineAndPanic(t *testing.T) {
	saved := sources
	t.Cleanup(func() { sources = saved })
	sources = map[diag.Source]sourceDef{
		"slow": {fn: func(ctx context.Context, _ *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
			time.Sleep(2 * time.Second) // ignores ctx, as a stuck syscall would
			return func(s *diag.Snapshot) { s.Host = &diag.HostFacts{Hostname: "late"} }, nil
		}},
		"panics": {fn: func(context.Context, *run, *diag.Snapshot) (func(*diag.Snapshot), error) { panic("oops") }},
		"fine":   {fn: func(context.Context, *run, *diag.Snapshot) (func(*diag.Snapshot), error) { return nil, nil }},
		"after":  {deps: []diag.Source{"fine"}, fn: func(context.Context, *run, *diag.Snapshot) (func(*diag.Snapshot), error) { return nil, nil }},
	}
	g := New(Options{SourceTimeout: 100 * time.Millisecond})
	snap := g.NewSnapshot(diag.Tool{Name: "ksdoctor"})
	start := time.Now()
	g.Gather(context.Background(), snap, []diag.Source{"slow", "panics", "after", "unknown"}, nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("gather waited %s for a stuck source", took)
	}
	if st := snap.Sources["slow"]; st.OK || !strings.Contains(st.Error, "timed out") {
		t.Errorf("slow: %+v", st)
	}
	if st := snap.Sources["panics"]; st.OK || !strings.Contains(st.Error, "panicked") {
		t.Errorf("panics: %+v", st)
	}
	if !snap.Has("fine") || !snap.Has("after") {
		t.Errorf("dependencies not gathered: %+v", snap.Sources)
	}
	if st := snap.Sources["unknown"]; st == nil || st.OK {
		t.Errorf("unknown source: %+v", st)
	}
	time.Sleep(2 * time.Second)
	if snap.Host != nil {
		t.Error("an abandoned gatherer wrote the snapshot")
	}
}

func TestOSRelease(t *testing.T) {
	if got := osRelease([]byte("NAME=Ubuntu\nVERSION=\"20.04.6 LTS (Focal Fossa)\"\n")); got != "Ubuntu 20.04.6 LTS (Focal Fossa)" {
		t.Errorf("got %q", got)
	}
}
