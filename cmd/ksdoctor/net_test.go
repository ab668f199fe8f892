package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// The network tests run the real binary inside a network namespace the test
// made (nsenter --net), with a host root whose /proc is the real one (so
// /proc/sys/net is the namespace's) and whose /etc is the test's own.

// netHostRoot makes a host root: proc is the real /proc bind-mounted (a symlink out of
// the root is never followed), etc/ a private directory, and the directory of each extra
// path (the dockerd pidfile) bind-mounted at its place.
func netHostRoot(t *testing.T, extra ...string) string {
	t.Helper()
	root := t.TempDir()
	testbed.Bind(t, "/proc", filepath.Join(root, "proc"))
	if err := os.MkdirAll(filepath.Join(root, "etc", "sysctl.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range extra {
		dir := filepath.Dir(p)
		testbed.Bind(t, dir, filepath.Join(root, dir))
	}
	return root
}

// ksdNS runs the real binary inside ns, with no terminal on stdin.
func ksdNS(t *testing.T, ns *testbed.Netns, args ...string) result {
	t.Helper()
	return runArgv(t, append([]string{"nsenter", "--net=" + ns.Path(), "--", bin}, args...))
}

// countRules counts exact rule lines in iptables-save -t table inside ns.
func countRules(t *testing.T, ns *testbed.Netns, table, rule string) int {
	t.Helper()
	out := ns.Run(t, "iptables-save", "-t", table)
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == rule {
			n++
		}
	}
	return n
}

func sweepJSON(t *testing.T, ns *testbed.Netns, args ...string) *diag.Report {
	t.Helper()
	r := ksdNS(t, ns, append([]string{"sweep", "--format", "json"}, args...)...)
	if r.code > 2 {
		t.Fatalf("sweep exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	return decodeReport(t, []byte(r.stdout))
}

func mustFinding(t *testing.T, rep *diag.Report, id string) diag.Finding {
	t.Helper()
	f, ok := rep.Finding(id)
	if !ok {
		t.Fatalf("no finding %s; have %v", id, findingIDs(rep))
	}
	return f
}

const (
	outsideIP   = "203.0.113.10" // the "internet" host, on the outside namespace's loopback
	outsideAddr = outsideIP + ":8080"
	masqRule    = "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"
)

// TestSeedIncidentDocker0NAT is the seed incident on the real kernel: a
// node namespace runs dockerd --iptables=false, an outside namespace serves
// HTTP behind the node's default gateway. A container on docker0 cannot
// fetch; the sweep links docker.iptables-disabled to
// net.docker0-masquerade-missing; the fix makes the same fetch succeed; a
// second fix adds no rule.
func TestSeedIncidentDocker0NAT(t *testing.T) {
	testbed.Require(t, "dockerd", "iptables", "iptables-save", "nsenter")
	node := testbed.NewNetns(t)
	outside := testbed.NewNetns(t)
	testbed.ConnectNetns(t, node, "eth0", "10.99.0.2/24", outside, "eth0", "10.99.0.1/24")
	node.Run(t, "ip", "route", "add", "default", "via", "10.99.0.1")
	outside.Run(t, "ip", "addr", "add", outsideIP+"/32", "dev", "lo")
	outside.ServeHTTP(t, outsideAddr, map[string]string{"index.html": "hello from outside\n"})

	d := testbed.StartDockerd(t, testbed.DockerdOptions{Netns: node, ExtraArgs: []string{"--iptables=false"}})
	img := d.BusyboxImage(t)
	fetch := func() (string, error) {
		// busybox-static's wget crashes resolving names in a container; nc does not.
		return d.TryCLI("run", "--rm", img, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "+outsideIP+" 8080")
	}
	if out, err := fetch(); err == nil {
		t.Fatalf("fetch from docker0 worked before the fix: %s", out)
	}
	// A hand-started container stays running through the fix.
	keeper := d.RunSleeping(t, "hand-started")

	root := netHostRoot(t, d.PIDFile)
	// The kubespray-era drop-in that set the flag, as on the seed's node.
	for p, c := range map[string]string{
		"lib/systemd/system/docker.service":                       "[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n",
		"etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false --exec-opt native.cgroupdriver=systemd\"\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(c), 0o644)
	}
	cfg := filepath.Join(t.TempDir(), "cfg.yaml")
	os.WriteFile(cfg, []byte("timeouts:\n  sweep: 60s\n"), 0o644) // the probe has its own 30 s floor
	flags := []string{"--host-root", root, "--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile, "--config", cfg}
	probe := []string{"--probe", "--probe-image", img, "--probe-target", outsideAddr}

	if dir := os.Getenv("KSDOCTOR_RECORD_FIXTURE"); dir != "" {
		// Records this node as a fixture: checks/fixtures_test.go replays it.
		os.MkdirAll(dir, 0o755)
		ksdNS(t, node, append(append([]string{"snapshot", "--output", filepath.Join(dir, "snapshot.json")}, flags...), probe...)...).wantCode(t, 0)
	}
	rep := sweepJSON(t, node, append(append([]string{}, flags...), probe...)...)
	dis := mustFinding(t, rep, "docker.iptables-disabled")
	masq := mustFinding(t, rep, "net.docker0-masquerade-missing")
	if masq.Severity != diag.Critical || dis.Severity != diag.Warning {
		t.Errorf("severities %s / %s, want critical / warning", masq.Severity, dis.Severity)
	}
	if !slices.Equal(masq.CausedBy, []string{"docker.iptables-disabled"}) || !slices.Contains(dis.Causes, "net.docker0-masquerade-missing") {
		t.Errorf("not linked: causedBy %v, causes %v", masq.CausedBy, dis.Causes)
	}
	if w := dis.Evidence[0].Table; w == nil || !strings.Contains(fmt.Sprint(w.Rows), "docker-options.conf:2") {
		t.Errorf("where-set evidence lacks the drop-in's file and line: %+v", w)
	}
	if !strings.Contains(masq.Summary, "cannot reach beyond") {
		t.Errorf("summary does not spell out the consequence: %s", masq.Summary)
	}
	var probeEv string
	for _, e := range masq.Evidence {
		if e.Label == "Probe" {
			probeEv = e.Value
		}
	}
	if !strings.Contains(probeEv, "could NOT reach "+outsideAddr) {
		t.Errorf("probe evidence %q, want unreachable", probeEv)
	}
	rem, ok := masq.Remediation("net.docker0-masquerade-missing/add-rule")
	if !ok {
		t.Fatal("no add-rule remediation")
	}
	for _, want := range []string{"-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE", "dockerd restart", "docker.iptables-disabled/enable"} {
		if !strings.Contains(rem.Preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, rem.Preview)
		}
	}
	routing := mustFinding(t, rep, "net.docker0-vs-pod-routing")
	if !strings.Contains(routing.Summary, "broken") {
		t.Errorf("routing summary %q does not say the docker0 path is broken", routing.Summary)
	}
	// Text and Markdown render the link too.
	for _, format := range []string{"text", "markdown"} {
		r := ksdNS(t, node, append([]string{"sweep", "--format", format, "--checks", "docker.iptables-disabled,net.docker0-masquerade-missing"}, flags...)...)
		if !strings.Contains(r.stdout, "docker.iptables-disabled") || !strings.Contains(strings.ToLower(r.stdout), "caused by") {
			t.Errorf("%s report does not show the cause:\n%s", format, r.stdout)
		}
	}

	fix := ksdNS(t, node, append(append([]string{"fix", "net.docker0-masquerade-missing/add-rule", "--yes"}, flags...), probe...)...)
	fix.wantCode(t, 0)
	if !strings.Contains(fix.stdout, "verified") || !strings.Contains(fix.stdout, ") reached "+outsideAddr) {
		t.Errorf("fix output:\n%s\n%s", fix.stdout, fix.stderr)
	}
	if out, err := fetch(); err != nil || !strings.Contains(out, "hello from outside") {
		t.Errorf("fetch after the fix: %v\n%s", err, out)
	}
	if n := countRules(t, node, "nat", masqRule); n != 1 {
		t.Errorf("%d MASQUERADE rules after the fix, want 1", n)
	}
	again := ksdNS(t, node, append([]string{"fix", "net.docker0-masquerade-missing/add-rule", "--yes"}, flags...)...)
	again.wantCode(t, 0)
	if !strings.Contains(again.stdout, "nothing to do") {
		t.Errorf("second fix:\n%s", again.stdout)
	}
	if n := countRules(t, node, "nat", masqRule); n != 1 {
		t.Errorf("%d MASQUERADE rules after a second fix, want 1", n)
	}
	in, err := d.Client(t).ContainerInspect(context.Background(), keeper)
	if err != nil || !in.State.Running {
		t.Errorf("the hand-started container was hurt: %v", err)
	}
	// Nothing was written to the host's /etc.
	if _, err := os.Stat(filepath.Join(root, "etc", "sysctl.d", "99-zz-ksdoctor-ip-forward.conf")); err == nil {
		t.Errorf("the NAT fix wrote a sysctl file")
	}
}
