package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestOutputsNeverDestroyThePath runs the real binary's sweep -o and
// snapshot --output against every kind of thing that can sit at a path:
// a private null device (mknod c 1 3 in a temporary directory, never the
// machine's /dev/null), a FIFO with a reader, an existing 0666 file, a
// symbolic link, a socket, a directory and a dangling link.
func TestOutputsNeverDestroyThePath(t *testing.T) {
	testbed.Require(t)
	dir := t.TempDir()
	from := []string{"--from", "../../fixtures/healthy/snapshot.json"}
	sweep := func(t *testing.T, out string) result {
		t.Helper()
		return ksd(t, append([]string{"sweep", "--format", "json", "-o", out}, from...)...)
	}

	t.Run("null device", func(t *testing.T) {
		null := filepath.Join(dir, "null")
		if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatalf("mknod: %v", err)
		}
		if err := os.Chmod(null, 0o666); err != nil {
			t.Fatal(err)
		}
		sweep(t, null).wantCode(t, 0)
		fi, err := os.Lstat(null)
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 || fi.Mode().Perm() != 0o666 {
			t.Fatalf("the device node was replaced: %v %v", fi.Mode(), err)
		}
		if st := fi.Sys().(*syscall.Stat_t); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
			t.Fatalf("device number changed: %d", st.Rdev)
		}
	})

	t.Run("fifo with a reader", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
			if err != nil {
				got <- nil
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- b
		}()
		// The reader opens in its own time; wait for it like a user would.
		var r result
		for deadline := time.Now().Add(20 * time.Second); ; {
			r = sweep(t, fifo)
			if r.code == 0 || time.Now().After(deadline) || !strings.Contains(r.stderr, "no reader") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		r.wantCode(t, 0)
		b := <-got
		if !bytes.Contains(b, []byte(`"schemaVersion"`)) {
			t.Fatalf("the reader got %q", b)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO was replaced: %v %v", fi, err)
		}
	})

	t.Run("proc path is a stream", func(t *testing.T) {
		// The binary's own stdout (a pipe to this test), reached by name.
		r := sweep(t, "/proc/self/fd/1")
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, `"schemaVersion"`) {
			t.Fatalf("the report did not reach stdout:\n%s\n%s", r.stdout, r.stderr)
		}
	})

	t.Run("fifo without a reader is refused", func(t *testing.T) {
		fifo := filepath.Join(dir, "lonely")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		r := sweep(t, fifo)
		r.wantCode(t, 3)
		wantErrHint(t, r, "no reader")
	})

	t.Run("existing 0666 file ends 0600", func(t *testing.T) {
		f := filepath.Join(dir, "world.json")
		if err := os.WriteFile(f, []byte("old"), 0o666); err != nil {
			t.Fatal(err)
		}
		os.Chmod(f, 0o666)
		sweep(t, f).wantCode(t, 0)
		fi, err := os.Lstat(f)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Fatalf("report file: %v %v", fi.Mode(), err)
		}
		snap := filepath.Join(dir, "snap.json")
		os.WriteFile(snap, []byte("old"), 0o644)
		r := ksd(t, "snapshot", "--output", snap, "--docker-host", "unix://"+filepath.Join(dir, "no.sock"), "--checks", "disk.docker-root-usage")
		r.wantCode(t, 0)
		if fi, err := os.Lstat(snap); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("snapshot file: %v %v", fi.Mode(), err)
		}
		if !strings.Contains(r.stderr, "raw node facts") {
			t.Errorf("snapshot does not say it holds raw facts:\n%s", r.stderr)
		}
	})

	t.Run("symlink is followed", func(t *testing.T) {
		target := filepath.Join(dir, "target.json")
		os.WriteFile(target, []byte("old"), 0o644)
		link := filepath.Join(dir, "link.json")
		if err := os.Symlink("target.json", link); err != nil {
			t.Fatal(err)
		}
		sweep(t, link).wantCode(t, 0)
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link was replaced: %v %v", fi, err)
		}
		b, err := os.ReadFile(target)
		fi, _ := os.Stat(target)
		if err != nil || !bytes.Contains(b, []byte(`"schemaVersion"`)) || fi.Mode().Perm() != 0o600 {
			t.Fatalf("the target: %v %q %v", fi.Mode(), b, err)
		}
	})

	for _, tc := range []struct {
		name, want string
		make       func(p string) func()
	}{
		{"socket", "a socket", func(p string) func() {
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			return func() { l.Close() }
		}},
		{"directory", "a directory", func(p string) func() { os.Mkdir(p, 0o755); return func() {} }},
		{"dangling link", "leads nowhere", func(p string) func() { os.Symlink("missing/nothing", p); return func() {} }},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			defer tc.make(p)()
			before, _ := os.Lstat(p)
			r := sweep(t, p)
			r.wantCode(t, 3)
			wantErrHint(t, r, tc.want)
			after, err := os.Lstat(p)
			if err != nil || after.Mode() != before.Mode() {
				t.Fatalf("%s changed: %v -> %v (%v)", tc.name, before.Mode(), after, err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".*ksdoctor-tmp*")); len(m) > 0 {
				t.Fatalf("temporary files left: %v", m)
			}
		})
	}
}

// wantErrHint checks a refusal reads "ksdoctor: error: …want…" then a hint.
func wantErrHint(t *testing.T, r result, want string) {
	t.Helper()
	if !strings.Contains(r.stderr, "ksdoctor: error: ") || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "ksdoctor: hint: ") {
		t.Fatalf("stderr lacks error %q and a hint:\n%s", want, r.stderr)
	}
}

// TestProbeTargetThatLooksLikeOptionsExitsThree: a --probe-target that nc
// would read as options is refused before anything runs.
func TestProbeTargetThatLooksLikeOptionsExitsThree(t *testing.T) {
	for _, target := range []string{"-e/bin/sh:80", "host:http", "a b:80"} {
		r := ksd(t, "sweep", "--probe", "--probe-target", target, "--docker-host", "unix:///nonexistent/ksdt.sock")
		r.wantCode(t, 3)
		wantErrHint(t, r, "probe target")
	}
}
