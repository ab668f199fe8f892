package dockerconf

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// TestNotJudged: a daemon.json over MaxConfFile or that is not a regular
// file is not judged: recorded in Unjudged with the reason, never parsed in
// part, and a FIFO is never opened (opening it would block).
func TestNotJudged(t *testing.T) {
	big := bigDaemonJSON(90000) // valid, about 3 MiB
	for len(big) <= MaxConfFile {
		big = bigDaemonJSON(len(big) / 10)
	}
	f := Resolve(fstest.MapFS{"etc/docker/daemon.json": {Data: big}}, nil)
	if len(f.Unjudged) != 1 || !strings.Contains(f.Unjudged[0], "larger than the 4.0 MiB limit") {
		t.Errorf("unjudged %v", f.Unjudged)
	}
	for _, p := range f.Problems {
		if strings.Contains(p.Message, "end of file") {
			t.Errorf("parsed in part: %+v", p)
		}
	}
	if len(f.OnDisk) != 0 {
		t.Errorf("%d options taken from a file not judged", len(f.OnDisk))
	}

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(root, "etc/docker/daemon.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan []string, 1)
	go func() { done <- Resolve(os.DirFS(root), nil).Unjudged }()
	select {
	case u := <-done:
		if len(u) != 1 || !strings.Contains(u[0], "not a regular file (a named pipe)") {
			t.Errorf("unjudged %v", u)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Resolve blocked on a FIFO daemon.json")
	}
}
