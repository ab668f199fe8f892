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

// hostileRoot is a host root whose daemon.json carries a label with
// terminal escapes and a proxy password, and whose docker unit drop-in
// carries an HTTP_PROXY with credentials.
func hostileRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	testbed.WriteTree(t, root, map[string]string{
		"etc/docker/daemon.json": `{"labels": ["evil=\u001b]0;pwned\u0007\u001b[2J fake: all checks passed", "bidi=\u202egnp.exe"],` +
			` "registry-mirrors": ["https://mirror:m1rr0r-pa55@mirror.example.com"]}` + "\n",
		"etc/systemd/system/docker.service.d/http-proxy.conf": "[Service]\nEnvironment=\"HTTP_PROXY=http://ops:pr0xy-s3cret w@proxy.local:3128\" \"API_KEY=ak-9f8e7d6c5b4a\"\n",
		"lib/systemd/system/docker.service":                   "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
	})
	return root
}

var hostileSecrets = []string{"m1rr0r-pa55", "pr0xy-s3cret", "ak-9f8e7d6c5b4a", "pa/ss w@rd"}

// TestHostileNodeDataInEveryFormat sweeps a host root holding terminal
// escapes and secrets, with a --docker-host whose password holds '/', '@'
// and a blank, with the real binary: text and Markdown show the escapes
// as text, no format shows a secret, and neither do the errors.
func TestHostileNodeDataInEveryFormat(t *testing.T) {
	root := hostileRoot(t)
	host := "tcp://admin:pa/ss w@rd@127.0.0.1:1"
	for _, format := range []string{"text", "markdown", "json"} {
		r := ksd(t, "sweep", "--host-root", root, "--docker-host", host, "--format", format)
		if r.code == 3 {
			t.Fatalf("%s: the sweep could not run:\n%s", format, r.stderr)
		}
		out := r.stdout + r.stderr
		for _, s := range hostileSecrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret %q", format, s)
			}
		}
		if format != "json" {
			for _, c := range []string{"\x1b", "\x07", "\u202e"} {
				if strings.Contains(out, c) {
					t.Errorf("%s output holds the raw control %q", format, c)
				}
			}
			if !strings.Contains(out, `\x1b]0;pwned\x07`) {
				t.Errorf("%s output does not show the escape as text:\n%s", format, out)
			}
		}
	}
	// An error line quotes the flag: masked too.
	r := ksd(t, "sweep", "--host-root", filepath.Join(root, "missing"), "--docker-host", host, "--from", "nope.json")
	if strings.Contains(r.stderr, "pa/ss") {
		t.Errorf("error shows the password:\n%s", r.stderr)
	}
}

// TestSnapshotRedactForSharing: a plain snapshot keeps the raw facts (and
// says so), --redact masks them, and the masked one still replays.
func TestSnapshotRedactForSharing(t *testing.T) {
	root := hostileRoot(t)
	dir := t.TempDir()
	raw, shared := filepath.Join(dir, "raw.json"), filepath.Join(dir, "shared.json")
	args := []string{"--host-root", root, "--docker-host", "unix:///nonexistent/ksdt.sock", "--checks", "docker.effective-config,docker.options-drift"}
	r := ksd(t, append([]string{"snapshot", "--output", raw}, args...)...)
	r.wantCode(t, 0)
	if !strings.Contains(r.stderr, "raw node facts") || !strings.Contains(r.stderr, "--redact") {
		t.Errorf("snapshot does not say it is raw:\n%s", r.stderr)
	}
	b, _ := os.ReadFile(raw)
	if !strings.Contains(string(b), "pr0xy-s3cret") {
		t.Errorf("the raw snapshot lost a fact the checks judge")
	}
	ksd(t, append([]string{"snapshot", "--redact", "--output", shared}, args...)...).wantCode(t, 0)
	b, _ = os.ReadFile(shared)
	for _, s := range hostileSecrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the redacted snapshot keeps %q", s)
		}
	}
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode: %v %v", fi, err)
	}
	rep := ksd(t, "sweep", "--from", shared, "--format", "json")
	if rep.code == 3 || !strings.Contains(rep.stdout, "docker.effective-config") {
		t.Fatalf("the redacted snapshot does not replay (exit %d):\n%s", rep.code, rep.stderr)
	}
}
