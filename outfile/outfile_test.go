package outfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteByKindOfPath(t *testing.T) {
	dir := t.TempDir()
	// A regular file of any mode ends 0600 with the new content.
	f := filepath.Join(dir, "r.json")
	os.WriteFile(f, []byte("old"), 0o666)
	os.Chmod(f, 0o666)
	if err := Write(f, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	// A link is followed: the target is replaced, the link stays.
	link := filepath.Join(dir, "l.json")
	os.Symlink("r.json", link)
	if err := Write(link, []byte("via link")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	if b, _ := os.ReadFile(f); string(b) != "via link" {
		t.Errorf("target holds %q", b)
	}
	// A FIFO without a reader is refused at once, not waited on.
	fifo := filepath.Join(dir, "fifo")
	unix.Mkfifo(fifo, 0o600)
	if err := Write(fifo, []byte("x")); !errors.Is(err, ErrRefused) {
		t.Errorf("fifo without reader: %v", err)
	}
	// Refused: directory, socket, dangling link, nothing under /proc.
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("nowhere/x", dangling)
	for _, p := range []string{dir, sock, dangling, "/proc/ksdoctor-no-such-file"} {
		if err := Write(p, []byte("x")); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want refused", p, err)
		}
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the dangling link changed")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*ksdoctor-tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
