package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// realNode is a node filesystem (a host root in a temp dir) whose
// docker.service runs a real testbed dockerd: ExecStart is the testbed's
// own command line followed by $DOCKER_OPTS from a kubespray-style drop-in,
// and restarting the unit restarts that dockerd with what the files say.
type realNode struct {
	t    *testing.T
	root string
	d    *testbed.Dockerd
	mu   sync.Mutex
}

const realDropIn = "/etc/systemd/system/docker.service.d/docker-options.conf"

func newRealNode(t *testing.T, hostname string, opts []string) *realNode {
	t.Helper()
	testbed.Require(t, "dockerd", "containerd", "runc")
	n := &realNode{t: t, root: t.TempDir()}
	// daemon.json must be one path for dockerd and for the node: a
	// symlink from outside the host root into it.
	outside := filepath.Join("/var/tmp/ksdt-tui", fmt.Sprint(os.Getpid()), filepath.Base(n.root))
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(outside)
		os.Remove(filepath.Dir(outside)) // only when empty
		os.Remove(filepath.Dir(filepath.Dir(outside)))
	})
	daemonJSON := filepath.Join(outside, "daemon.json")
	n.write(daemonJSON, "{}\n")
	if err := os.Symlink(filepath.Join(n.root, daemonJSON), daemonJSON); err != nil {
		t.Fatal(err)
	}
	n.d = testbed.StartDockerd(t, testbed.DockerdOptions{ExtraArgs: append([]string{"--config-file", daemonJSON}, opts...)})
	head := n.d.Args[:len(n.d.Args)-len(opts)]
	n.write("/lib/systemd/system/docker.service", "[Unit]\nDescription=Docker Application Container Engine\n\n[Service]\nType=notify\n"+
		"ExecStart=/usr/sbin/"+strings.Join(head, " ")+" $DOCKER_OPTS\nExecReload=/bin/kill -s HUP $MAINPID\n\n[Install]\nWantedBy=multi-user.target\n")
	n.write(realDropIn, "[Service]\nEnvironment=\"DOCKER_OPTS="+strings.Join(opts, " ")+"\"\n")
	n.write("/etc/hostname", hostname+"\n")
	// ksdoctor follows no link out of the host root: /proc and the pidfile's directory
	// are bind-mounted in.
	testbed.Bind(t, "/proc", filepath.Join(n.root, "proc"))
	testbed.Bind(t, filepath.Dir(n.d.PIDFile), filepath.Join(n.root, filepath.Dir(n.d.PIDFile)))
	return n
}

func (n *realNode) write(p, content string) {
	n.t.Helper()
	full := filepath.Join(n.root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// The service manager of the node: restarting docker.service restarts the
// testbed dockerd with the flags the unit files resolve to now.
func (n *realNode) DaemonReload(context.Context) error { return nil }
func (n *realNode) Stop(context.Context, string) error { n.d.Stop(n.t); return nil }
func (n *realNode) Start(ctx context.Context, unit string) error {
	return n.Restart(ctx, unit)
}

func (n *realNode) Restart(_ context.Context, unit string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if unit != dockerconf.UnitName {
		return fmt.Errorf("unknown unit %s", unit)
	}
	f := dockerconf.Resolve(os.DirFS(n.root), nil)
	if f.Unit == nil || len(f.Unit.Argv) == 0 {
		return fmt.Errorf("no ExecStart resolved: %+v", f.Problems)
	}
	argv := f.Unit.Argv[1:]
	var extra []string
	for i := 0; i < len(argv); i++ {
		switch argv[i] {
		case "--data-root", "--exec-root", "-H", "--pidfile", "--containerd":
			i++ // the testbed sets these itself
			continue
		}
		extra = append(extra, argv[i])
	}
	return n.d.TryRestart(extra...)
}

func (n *realNode) doctor() *doctor.Doctor {
	return &doctor.Doctor{
		Tool:     diag.Tool{Name: "ksdoctor", Version: "test"},
		Checks:   []diag.Check{checks.DockerOptionsDrift},
		Config:   diag.DefaultConfig(),
		Gatherer: gather.New(gather.Options{HostRoot: n.root, DockerHost: n.d.Host, DockerdPIDFile: n.d.PIDFile}),
		Executor: &act.Executor{HostRoot: n.root, Docker: n.d.Client(n.t), Services: n},
	}
}

// TestRealHighRiskFixNeedsTheHostname drives the TUI model with the real
// doctor against a real dockerd whose drop-in was edited without a restart
// (docker.options-drift): the restart fix is high risk, so y and a wrong
// hostname change nothing; the exact hostname restarts dockerd with the
// options on disk, and the re-check verifies it.
func TestRealHighRiskFixNeedsTheHostname(t *testing.T) {
	const host = "ksdt-tui-node"
	n := newRealNode(t, host, []string{"--bip=10.131.0.1/24"})
	before := slices.Clone(n.d.Args)
	n.write(realDropIn, "[Service]\nEnvironment=\"DOCKER_OPTS=--bip=10.132.0.1/24\"\n")
	d := n.doctor()
	defer d.Gatherer.Close()

	m := swept(t, d, Options{Checks: d.Checks})
	mustContain(t, m.View(), host, "docker.options-drift")
	m = selectFinding(t, m, "docker.options-drift")

	// y, then a wrong hostname: nothing happens to dockerd.
	for _, presses := range [][]string{{"y", "enter"}, {"k", "s", "d", "t", "enter"}, {"esc"}} {
		m = keys(t, m, "f")
		if m.fix.stage != stagePreview || m.fix.cand.Remediation.Risk != diag.RiskHigh {
			t.Fatalf("stage %d, want the preview of a high-risk fix:\n%s", m.fix.stage, m.View())
		}
		m = keys(t, m, presses...)
		if len(m.s.applied) != 0 || !slices.Equal(n.d.Args, before) {
			t.Fatalf("%v applied %+v; dockerd args %q", presses, m.s.applied, n.d.Args)
		}
	}

	m = keys(t, m, "f")
	v := m.View()
	mustContain(t, v, "HIGH RISK", host, "Blast radius")
	t.Logf("preview:\n%s", v)
	// The plan's steps are below the preview: scrolling shows them.
	m = keys(t, m, "down", "down", "down", "down", "down", "down", "down", "down")
	mustContain(t, m.View(), `unit="docker.service"`)
	m = typeText(t, m, host)
	m = keys(t, m, "enter")
	if len(m.s.applied) != 1 {
		t.Fatalf("applied %+v\n%s", m.s.applied, m.View())
	}
	res := m.s.applied[0]
	if res.Error != "" || !res.Verified {
		t.Fatalf("apply: %+v\n%s", res, m.View())
	}
	mustContain(t, m.View(), "Verified", "re-check passed")
	if !slices.Contains(n.d.Args, "--bip=10.132.0.1/24") {
		t.Errorf("dockerd restarted with %q", n.d.Args)
	}
	m = keys(t, m, "esc")
	mustContain(t, m.View(), "✔ resolved")
}
