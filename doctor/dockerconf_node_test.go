package doctor_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// node is a fake node filesystem (a host root in a temp dir) whose docker.service runs a
// real testbed dockerd: the unit's ExecStart is the testbed's own command line, so the
// files resolve to exactly the flags dockerd runs with.
type node struct {
	t    testing.TB
	root string
	d    *testbed.Dockerd
	// daemonJSON is the --config-file path; it is the same path on the node and for
	// dockerd (a symlink into the host root).
	daemonJSON string
	svc        *testbedServices
}

const dropIn = "/etc/systemd/system/docker.service.d/docker-options.conf"

// newNode writes a unit whose ExecStart ends in $DOCKER_OPTS, a docker-options.conf
// drop-in with opts, and daemon.json with the given content ("" for none), then starts
// dockerd with what they resolve to.
func newNode(t testing.TB, opts []string, daemonJSON string) *node {
	t.Helper()
	return newNodeOn(t, opts, daemonJSON, "")
}

// newNodeOn is newNode with dockerd's data-root in dataRoot ("" for the testbed's).
func newNodeOn(t testing.TB, opts []string, daemonJSON, dataRoot string) *node {
	t.Helper()
	if testing.Short() {
		t.Skip("real-part test: not with -short")
	}
	testbed.Require(t, "dockerd", "containerd", "runc", "iptables-save")
	n := &node{t: t, root: t.TempDir()}
	// A path dockerd reads directly that is also the node path of the file in root.
	real := filepath.Join(n.root, "var/tmp/ksdt-dockerconf", fmt.Sprint(os.Getpid()), filepath.Base(n.root), "daemon.json")
	n.daemonJSON = filepath.Join("/var/tmp/ksdt-dockerconf", fmt.Sprint(os.Getpid()), filepath.Base(n.root), "daemon.json")
	must(t, os.MkdirAll(filepath.Dir(real), 0o755))
	must(t, os.MkdirAll(filepath.Dir(n.daemonJSON), 0o755))
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(n.daemonJSON)) })
	must(t, os.Symlink(real, n.daemonJSON))
	if daemonJSON == "" {
		daemonJSON = "{}\n"
	}
	n.write(n.daemonJSON, daemonJSON)
	extra := append([]string{"--config-file", n.daemonJSON}, opts...)
	n.d = testbed.StartDockerd(t, testbed.DockerdOptions{ExtraArgs: extra, DataRoot: dataRoot})
	// ExecStart: the testbed's argv up to the options, then $DOCKER_OPTS.
	head := n.d.Args[:len(n.d.Args)-len(opts)]
	n.write("/lib/systemd/system/docker.service", "[Unit]\nDescription=Docker Application Container Engine\n\n[Service]\nType=notify\n"+
		"ExecStart=/usr/sbin/"+strings.Join(head, " ")+" $DOCKER_OPTS\nExecReload=/bin/kill -s HUP $MAINPID\n\n[Install]\nWantedBy=multi-user.target\n")
	n.write(dropIn, "[Service]\nEnvironment=\"DOCKER_OPTS="+strings.Join(opts, " ")+"\"\n")
	// /proc as the node sees it holds only this node's dockerd, so that dockerds of other
	// tests on the machine are never taken for it; the pidfile is the testbed's.
	n.refreshProc()
	n.svc = &testbedServices{n: n}
	return n
}

// refreshProc makes <root>/proc show the node's current dockerd (if running) and the
// system-wide files the gatherers read, and the pidfile name it: copies, since ksdoctor
// follows no link out of the host root. /proc as the node sees it holds only this node's
// dockerd, so that dockerds of other tests on the machine are never taken for it.
func (n *node) refreshProc() {
	n.t.Helper()
	proc := filepath.Join(n.root, "proc")
	must(n.t, os.RemoveAll(proc))
	must(n.t, os.MkdirAll(proc, 0o755))
	copyFile(n.t, "/proc/stat", filepath.Join(proc, "stat"))
	pidfile := filepath.Join(n.root, n.d.PIDFile)
	_ = os.Remove(pidfile)
	if n.d.Running() {
		dir := filepath.Join(proc, fmt.Sprint(n.d.PID))
		must(n.t, os.MkdirAll(dir, 0o755))
		for _, f := range []string{"cmdline", "comm", "stat"} {
			copyFile(n.t, fmt.Sprintf("/proc/%d/%s", n.d.PID, f), filepath.Join(dir, f))
		}
		must(n.t, os.MkdirAll(filepath.Dir(pidfile), 0o755))
		must(n.t, os.WriteFile(pidfile, []byte(fmt.Sprintln(n.d.PID)), 0o644))
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// write writes a file at a node path.
func (n *node) write(p, content string) {
	n.t.Helper()
	full := filepath.Join(n.root, p)
	must(n.t, os.MkdirAll(filepath.Dir(full), 0o755))
	must(n.t, os.WriteFile(full, []byte(content), 0o644))
}

func (n *node) read(p string) string {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.root, p))
	must(n.t, err)
	return string(b)
}

func (n *node) gatherer() *gather.Gatherer {
	return gather.New(gather.Options{HostRoot: n.root, DockerHost: n.d.Host, DockerdPIDFile: n.d.PIDFile})
}

func (n *node) executor() *act.Executor {
	return &act.Executor{HostRoot: n.root, Docker: n.d.Client(n.t), Services: n.svc}
}

// snapshot gathers the docker configuration facts of the node.
func (n *node) snapshot(checks ...diag.Check) *diag.Snapshot {
	n.t.Helper()
	if len(checks) == 0 {
		checks = []diag.Check{{ID: "test.conf", Needs: []diag.Source{diag.SourceDockerConf}}}
	}
	g := n.gatherer()
	defer g.Close()
	s := g.Collect(context.Background(), diag.Tool{Name: "test"}, checks, diag.DefaultConfig(), nil)
	if err := s.SourceError(diag.SourceDockerConf); err != nil {
		n.t.Fatalf("gather: %v", err)
	}
	return s
}

// testbedServices is a service manager for the node: restarting docker.service restarts
// the testbed dockerd with the flags the unit files now resolve to.
type testbedServices struct {
	n        *node
	mu       sync.Mutex
	reloads  int
	restarts int
	failed   []string
}

func (s *testbedServices) DaemonReload(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloads++
	return nil
}

// resolvedExtra returns what to pass to Dockerd.TryRestart: the resolved argv without the
// words the testbed adds itself.
func (s *testbedServices) resolvedExtra() ([]string, error) {
	f := dockerconf.Resolve(os.DirFS(s.n.root), nil)
	if f.Unit == nil || len(f.Unit.Argv) == 0 {
		return nil, fmt.Errorf("no ExecStart resolved: %+v", f.Problems)
	}
	argv := f.Unit.Argv[1:]
	var extra []string
	for i := 0; i < len(argv); i++ {
		switch argv[i] {
		case "--data-root", "--exec-root", "-H", "--pidfile", "--containerd":
			if slices.Contains([]string{"--data-root"}, argv[i]) && argv[i+1] != s.n.d.DataRoot {
				extra = append(extra, argv[i], argv[i+1])
			}
			i++
			continue
		}
		extra = append(extra, argv[i])
	}
	return extra, nil
}

func (s *testbedServices) Restart(_ context.Context, unit string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if unit != dockerconf.UnitName {
		return fmt.Errorf("unknown unit %s", unit)
	}
	s.restarts++
	extra, err := s.resolvedExtra()
	if err != nil {
		return err
	}
	err = s.n.d.TryRestart(extra...)
	s.n.refreshProc()
	if err != nil {
		s.failed = append(s.failed, err.Error())
		return fmt.Errorf("docker.service failed to start: %w", err)
	}
	return nil
}

func (s *testbedServices) Stop(_ context.Context, unit string) error {
	if unit != dockerconf.UnitName {
		return fmt.Errorf("Unit %s not loaded.", unit)
	}
	s.n.d.Stop(s.n.t)
	s.n.refreshProc()
	return nil
}

func (s *testbedServices) Start(ctx context.Context, unit string) error {
	if unit != dockerconf.UnitName {
		return fmt.Errorf("Unit %s not loaded.", unit)
	}
	return s.Restart(ctx, unit)
}

func dirFS(root string) fs.FS { return os.DirFS(root) }

func mustJournal(t testing.TB, root string) []act.JournalRecord {
	t.Helper()
	recs, err := act.ReadJournal(root)
	must(t, err)
	return recs
}

// bind makes dir visible at the same path under the host root (a private bind mount,
// unmounted when the test ends).
func (n *node) bind(dir string) {
	n.t.Helper()
	at := filepath.Join(n.root, dir)
	must(n.t, os.MkdirAll(at, 0o755))
	for _, argv := range [][]string{{"mount", "--bind", dir, at}, {"mount", "--make-private", at}} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			n.t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	n.t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", at).CombinedOutput(); err != nil {
			n.t.Errorf("umount %s: %v %s", at, err, out)
		}
	})
}
