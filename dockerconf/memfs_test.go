package dockerconf

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// TestMemFS holds the in-memory tree Predict resolves on to the io/fs
// contract, and to what fstest.MapFS answers for the same files.
func TestMemFS(t *testing.T) {
	files := map[string]string{
		"etc/docker/daemon.json":                           "{}\n",
		"etc/systemd/system/docker.service.d/10-opts.conf": "[Service]\n",
		"lib/systemd/system/docker.service":                "[Service]\nExecStart=/usr/bin/dockerd\n",
	}
	m, ref := memFS{}, fstest.MapFS{}
	for p, c := range files {
		m[p] = memFile{data: []byte(c), mode: 0o640}
		ref[p] = &fstest.MapFile{Data: []byte(c), Mode: 0o640}
	}
	if err := fstest.TestFS(m, "etc/docker/daemon.json", "etc/systemd/system/docker.service.d/10-opts.conf", "lib/systemd/system/docker.service"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", "etc", "etc/systemd/system/docker.service.d"} {
		got, err1 := fs.ReadDir(m, dir)
		want, err2 := fs.ReadDir(ref, dir)
		if (err1 == nil) != (err2 == nil) || len(got) != len(want) {
			t.Fatalf("ReadDir(%s): %v %v, want %v %v", dir, got, err1, want, err2)
		}
		for i := range got {
			if got[i].Name() != want[i].Name() || got[i].IsDir() != want[i].IsDir() {
				t.Errorf("ReadDir(%s)[%d] = %s, want %s", dir, i, got[i].Name(), want[i].Name())
			}
		}
	}
	for _, p := range []string{"etc/missing", "etc/docker/daemon.json/x"} {
		if _, err := fs.Stat(m, p); err == nil {
			t.Errorf("Stat(%s): want an error", p)
		}
	}
	if fi, err := fs.Stat(m, "etc/docker/daemon.json"); err != nil || fi.Mode() != 0o640 || fi.Size() != 3 {
		t.Errorf("Stat: %v %v", fi, err)
	}
}
