package hostfs

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"unsafe"

	"golang.org/x/sys/unix"
)

// layout makes a host root and, beside it, an "outside" directory holding a secret. Inside
// the root, links point out every way a node could: absolute, relative with "..", chains,
// links to directories.
func layout(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{"etc/docker", "srv/cfg", "proc/sys/net/ipv4", "var/lib", "dev"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.MkdirAll(filepath.Join(outside, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("SECRET\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(outside, "d", "x.conf"), []byte("SECRET\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(root, "srv/cfg/daemon.json"), []byte("{}\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(root, "proc/sys/net/ipv4/ip_forward"), []byte("0\n"), 0o644))
	links := map[string]string{
		"etc/abs":                filepath.Join(outside, "secret"),
		"etc/rel":                "../../outside/secret",
		"etc/deep":               "../../../../../../../../outside/secret",
		"etc/chain":              "abs",
		"etc/dirlink":            outside,
		"etc/docker/daemon.json": "../../srv/cfg/daemon.json",
		"etc/absin":              "/srv/cfg/daemon.json",
		"etc/loop":               "loop",
		"var/lib/ksdoctor":       filepath.Join(outside, "d"),
		"proc/sys/net/ipv4/rp":   "ip_forward",
	}
	for l, tgt := range links {
		must(t, os.Symlink(tgt, filepath.Join(root, l)))
	}
	return root, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bothResolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("securejoin", func(t *testing.T) {
		forceFallback = true
		defer func() { forceFallback = false }()
		f(t)
	})
}

func TestLinksResolveInsideRoot(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, outside := layout(t)
		r := New(root)
		for _, p := range []string{"/etc/abs", "/etc/rel", "/etc/deep", "/etc/chain", "/etc/dirlink/secret", "/../outside/secret", "/var/lib/ksdoctor/x.conf"} {
			if b, err := r.ReadFile(p); err == nil || strings.Contains(string(b), "SECRET") {
				t.Errorf("ReadFile(%s) = %q, %v: read outside the root", p, b, err)
			}
		}
		if b, err := r.ReadFile("/etc/docker/daemon.json"); err != nil || string(b) != "{}\n" {
			t.Errorf("relative link inside the root: %q, %v", b, err)
		}
		if b, err := r.ReadFile("/etc/absin"); err != nil || string(b) != "{}\n" {
			t.Errorf("absolute link resolves inside the root: %q, %v", b, err)
		}
		if _, err := r.ReadFile("/etc/loop"); err == nil {
			t.Error("a link loop was read")
		}
		if got, err := r.Resolve("/etc/docker/daemon.json"); err != nil || got != "/srv/cfg/daemon.json" {
			t.Errorf("Resolve = %s, %v", got, err)
		}
		// The absolute target is read as a node path: it is looked for inside the root,
		// where its directory does not exist.
		if got, err := r.Resolve("/etc/abs"); err == nil {
			t.Errorf("Resolve(/etc/abs) = %s, want an error", got)
		}
		// Writes through links out land inside the root, or fail (securejoin's MkdirAll
		// refuses a dangling link on the way).
		if err := r.MkdirAll("/var/lib/ksdoctor/sub", 0o700); err == nil {
			if _, err := r.WriteFile("/var/lib/ksdoctor/sub/j", []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, outside, "d", "sub", "j")); err != nil {
				t.Errorf("the write should land inside the root: %v", err)
			}
		}
		must(t, os.MkdirAll(filepath.Join(root, outside, "d"), 0o755))
		must(t, r.MkdirAll("/var/lib/ksdoctor/sub", 0o700))
		if _, err := os.Stat(filepath.Join(root, outside, "d", "sub")); err != nil {
			t.Errorf("MkdirAll through an absolute link: %v", err)
		}
		// /etc/rel and /etc/deep name /outside/secret inside the root: no such directory.
		if _, err := r.WriteFile("/etc/rel", []byte("OVERWRITTEN"), 0o644); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("write through a relative link out: %v", err)
		}
		must(t, os.MkdirAll(filepath.Join(root, "outside"), 0o755))
		if got, err := r.WriteFile("/etc/rel", []byte("OVERWRITTEN"), 0o644); err != nil || got != "/outside/secret" {
			t.Errorf("write through a relative link out: %s, %v", got, err)
		}
		f, err := r.OpenAppend("/etc/deep", 0o600)
		must(t, err)
		f.Close()
		must(t, r.RemoveAll("/etc/dirlink"))
		if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "SECRET\n" {
			t.Errorf("outside file changed: %q", b)
		}
		if _, err := os.Stat(filepath.Join(outside, "d", "sub")); err == nil {
			t.Error("MkdirAll created a directory outside the root")
		}
	})
}

func TestSpecialFilesNeverOpened(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mknod needs root")
	}
	bothResolvers(t, func(t *testing.T) {
		root, _ := layout(t)
		r := New(root)
		must(t, syscall.Mkfifo(filepath.Join(root, "dev/fifo"), 0o600))
		// A FIFO would block a plain open forever; a device open runs the driver.
		must(t, syscall.Mknod(filepath.Join(root, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3))
		l, err := net.Listen("unix", filepath.Join(root, "dev/sock"))
		must(t, err)
		defer l.Close()
		must(t, os.Symlink("/dev/fifo", filepath.Join(root, "etc/fifolink")))
		for _, p := range []string{"/dev/fifo", "/dev/null", "/dev/sock", "/etc/fifolink"} {
			if _, err := r.ReadFile(p); !errors.Is(err, ErrNotRegular) {
				t.Errorf("ReadFile(%s): %v, want ErrNotRegular", p, err)
			}
			if _, err := r.WriteFile(p, []byte("x"), 0o644); !errors.Is(err, ErrNotRegular) {
				t.Errorf("WriteFile(%s): %v, want ErrNotRegular", p, err)
			}
			if _, err := r.OpenAppend(p, 0o600); !errors.Is(err, ErrNotRegular) {
				t.Errorf("OpenAppend(%s): %v, want ErrNotRegular", p, err)
			}
		}
		if fi, err := os.Lstat(filepath.Join(root, "dev/null")); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("the device node was replaced: %v %v", fi, err)
		}
	})
}

func TestWriteAtLinkTarget(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, _ := layout(t)
		r := New(root)
		got, err := r.WriteFile("/etc/docker/daemon.json", []byte(`{"a":1}`), 0o644)
		if err != nil || got != "/srv/cfg/daemon.json" {
			t.Fatalf("WriteFile = %s, %v", got, err)
		}
		fi, err := os.Lstat(filepath.Join(root, "etc/docker/daemon.json"))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("the link was replaced: %v %v", fi, err)
		}
		fi, err = os.Stat(filepath.Join(root, "srv/cfg/daemon.json"))
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("target mode %v, want 0640 kept (%v)", fi.Mode(), err)
		}
		old := syscall.Umask(0)
		defer syscall.Umask(old)
		must(t, r.WriteNew("/srv/cfg/daemon.json.bak", []byte("{}"), 0o600))
		if fi, _ := os.Stat(filepath.Join(root, "srv/cfg/daemon.json.bak")); fi.Mode().Perm() != 0o600 {
			t.Errorf("backup mode %v, want 0600", fi.Mode())
		}
		if err := r.WriteNew("/srv/cfg/daemon.json.bak", []byte("again"), 0o600); !errors.Is(err, fs.ErrExist) {
			t.Errorf("WriteNew over an existing file: %v", err)
		}
		if err := r.WriteNew("/etc/abs", []byte("x"), 0o600); !errors.Is(err, fs.ErrExist) {
			t.Errorf("WriteNew over a link: %v", err)
		}
	})
}

func TestWriteExistingRefusesLinks(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, _ := layout(t)
		r := New(root)
		if err := r.WriteExisting("/proc/sys/net/ipv4/rp", []byte("1\n")); err == nil {
			t.Error("WriteExisting wrote through a symlink")
		}
		if b, _ := os.ReadFile(filepath.Join(root, "proc/sys/net/ipv4/ip_forward")); string(b) != "0\n" {
			t.Errorf("link target changed: %q", b)
		}
		must(t, r.WriteExisting("/proc/sys/net/ipv4/ip_forward", []byte("1\n")))
		if err := r.WriteExisting("/proc/sys/net/ipv4/missing", []byte("1\n")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("WriteExisting created a file: %v", err)
		}
	})
}

func TestReadLimit(t *testing.T) {
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "big"), make([]byte, 100), 0o644))
	b, err := New(root).ReadFileLimit("/big", 10)
	if !errors.Is(err, ErrTooLarge) || len(b) != 10 {
		t.Errorf("ReadFileLimit = %d bytes, %v", len(b), err)
	}
}

func TestFS(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/docker/daemon.json"), []byte("{}"), 0o644))
	must(t, os.Symlink("/etc/docker/daemon.json", filepath.Join(root, "etc/link.json")))
	if err := fstest.TestFS(New(root).FS(), "etc/docker/daemon.json", "etc/link.json"); err != nil {
		t.Error(err)
	}
}

func TestRemoveAllKeepsLinkTargets(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, outside := layout(t)
		must(t, os.MkdirAll(filepath.Join(root, "data/sub"), 0o755))
		must(t, os.Symlink(outside, filepath.Join(root, "data/sub/out")))
		must(t, New(root).RemoveAll("/data"))
		if _, err := os.Stat(filepath.Join(root, "data")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("data still there: %v", err)
		}
		if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
			t.Errorf("RemoveAll followed a link out: %v", err)
		}
	})
}

func TestReadDirInfoIsLikeOs(t *testing.T) {
	if unsafe.Sizeof(unix.Stat_t{}) != unsafe.Sizeof(syscall.Stat_t{}) {
		t.Fatal("x/sys/unix and syscall disagree on struct stat")
	}
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "f"), make([]byte, 5000), 0o640))
	ents, err := New(root).ReadDir("/")
	must(t, err)
	fi, err := ents[0].Info()
	must(t, err)
	want, _ := os.Lstat(filepath.Join(root, "f"))
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Ino != want.Sys().(*syscall.Stat_t).Ino || fi.Mode() != want.Mode() || fi.Size() != 5000 || !fi.ModTime().Equal(want.ModTime()) {
		t.Errorf("Info %v %v, want %v", fi.Mode(), fi.Sys(), want.Mode())
	}
}
