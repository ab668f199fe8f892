package gather

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

func TestContainerLogs(t *testing.T) {
	root := t.TempDir()
	for i, size := range []int{10, 3000, 200} {
		id := "c" + strconv.Itoa(i) + "0123456789abcdef"
		p := filepath.Join(root, "var/lib/docker/containers", id, id+"-json.log")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	logs := containerLogs(hostfs.New(root), "/var/lib/docker")
	if len(logs) != 3 || logs[0].Bytes != 3000 || logs[2].Bytes != 10 || filepath.Dir(logs[0].Path) != "/var/lib/docker/containers/"+logs[0].Container {
		t.Errorf("logs %+v", logs)
	}
}

func TestProcessStart(t *testing.T) {
	got, err := processStart(hostfs.New("/"), os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if d := time.Since(got); d < -2*time.Second || d > 10*time.Minute {
		t.Errorf("this process started %v ago?", d)
	}
}

func TestGatherDockerConfHostRoot(t *testing.T) {
	root := t.TempDir()
	write := func(p, c string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n")
	write("/etc/systemd/system/docker.service.d/docker-options.conf", "[Service]\nEnvironment=\"DOCKER_OPTS=--data-root=/data/docker\"\n")
	write("/etc/docker/daemon.json", "{ \"iptables\": fals }")
	g := New(Options{HostRoot: root})
	s := g.NewSnapshot(diag.Tool{})
	s.Inputs = map[string]string{"to": "/mnt/new"}
	store, err := gatherDockerConf(context.Background(), &run{Gatherer: g}, s)
	if err != nil {
		t.Fatal(err)
	}
	store(s)
	f := s.DockerConf
	if len(f.Problems) != 1 || f.Problems[0].File != "/etc/docker/daemon.json" || f.Problems[0].Line != 1 {
		t.Errorf("problems %+v", f.Problems)
	}
	if f.Move == nil || f.Move.From != "/data/docker" || f.Move.To != "/mnt/new" || !f.Move.ToEmpty {
		t.Errorf("move %+v", f.Move)
	}
}

func TestMeasureMoveEstimatesPastBudget(t *testing.T) {
	root := t.TempDir()
	from := filepath.Join(root, "var/lib/docker")
	for i := range 3000 {
		p := filepath.Join(from, "d"+strconv.Itoa(i%30), strconv.Itoa(i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := New(Options{HostRoot: root})
	old := moveWalkBudget
	moveWalkBudget = 0
	defer func() { moveWalkBudget = old }()
	m := measureMove(context.Background(), g, "/var/lib/docker", "/mnt/new")
	if m.Error != "" || !m.Estimated || m.FromBytes <= 0 {
		t.Errorf("want an estimate: %+v", m)
	}
	moveWalkBudget = old
	m = measureMove(context.Background(), g, "/var/lib/docker", "/mnt/new")
	if m.Error != "" || m.Estimated || m.FromFiles != 3031 { // the data-root, 30 directories, 3000 files
		t.Errorf("want a count of 3031 entries: %+v", m)
	}
}
