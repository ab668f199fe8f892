package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// hostileNode is a node name holding an OSC that would retitle the window
// and a CSI that would clear the screen.
const hostileNode = "evil\x1b]2;pwned\x07\x1b[2J-node"

// fleetReportFile writes a fleet report made of fixture replays: two
// nodes with exited containers, one (with a hostile name) with a full
// disk too, and one that did not answer; the cluster's findings from a
// cluster fixture. It is valid against
// docs/fleet.schema.json.
func fleetReportFile(t *testing.T, dir string) (string, *fleet.Report) {
	t.Helper()
	nodeReport := func(fixture string) *diag.Report {
		data, err := os.ReadFile(fixtureReport(t, dir, fixture))
		if err != nil {
			t.Fatal(err)
		}
		return decodeReport(t, data)
	}
	hostile := nodeReport("disk-full")
	hostile.Findings[0].Summary += " \x1b]2;pwned-too\x07"
	rep := &fleet.Report{
		SchemaVersion: 1, Kind: "fleet", Tool: diag.Tool{Name: "ksdoctor", Version: "test"},
		SweepID: "tmux01", Namespace: "ksdoctor", StartedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), DurationMs: 5100,
		Nodes: []fleet.Node{
			{Name: "worker-1", Answered: true, Report: nodeReport("exited-containers")},
			{Name: "worker-2", Answered: true, Report: nodeReport("exited-containers")},
			{Name: hostileNode, Answered: true, Report: hostile},
			{Name: "worker-gone", Reason: fleet.ReasonNoKubelet, Detail: "pod Pending: no kubelet on the node"},
		},
	}
	rep.Cluster = nodeReport("cluster-node-pressure")
	fleet.Merge(rep)
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.ValidateFleetJSON(data); err != nil {
		t.Fatalf("the test's fleet report: %v", err)
	}
	path := filepath.Join(dir, "fleet.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, rep
}

// selectedLine is the screen's line with the cursor mark.
func selectedLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "› ") {
			return l
		}
	}
	return ""
}

// moveTo presses Down or Up until the selected row holds text, waiting
// for each move to show.
func (tm *tmuxTerm) moveTo(t *testing.T, text string) {
	t.Helper()
	for range 20 {
		s := tm.screen(t)
		cur := selectedLine(s)
		if strings.Contains(cur, text) {
			return
		}
		key := "Down"
		for _, l := range strings.Split(s, "\n") {
			if l == cur {
				break
			}
			if strings.Contains(l, text) {
				key = "Up"
			}
		}
		tm.keys(t, key)
		tm.waitFor(t, "the cursor to move", 10*time.Second, func(s string) bool { return selectedLine(s) != cur })
	}
	t.Fatalf("no row holds %q:\n%s", text, tm.screen(t))
}

// TestTUIFleetInTmux drives the real binary's fleet view in a real
// terminal: tui --from a fleet report lists the checks with node counts;
// enter shows the nodes, enter again one node's finding with the exact
// 'ksdoctor fix' command for it; escape backs out one screen at a time
// (each waited for, so the next key is not read as alt+key); a hostile
// node's name and messages are shown escaped and retitle nothing; q quits
// with the report's exit code.
func TestTUIFleetInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	dir := t.TempDir()
	path, rep := fleetReportFile(t, dir)
	tm := startTermStatus(t, dir, 110, 30, []string{"TERM=xterm-256color", "NO_COLOR=1"}, bin, "tui", "--from", path)
	tm.waitText(t, 30*time.Second, "FLEET", "fleet.json", "4 nodes: 3 answered, 1 not", "3 of 3 nodes", "docker.exited-containers",
		"1 of 3 nodes", "disk.docker-root-usage", "did not answer")

	tm.moveTo(t, "docker.exited-containers")
	tm.keys(t, "Enter")
	tm.waitText(t, 10*time.Second, "docker.exited-containers: 3 of 3 nodes", "worker-1", "worker-2", "enter finding on the node")
	tm.moveTo(t, "worker-2")
	tm.keys(t, "Enter")
	s := tm.waitText(t, 10*time.Second, "Node worker-2", "Fix on node worker-2", "Run the command on node worker-2")
	if !hasLine(s, "ksdoctor fix docker.exited-containers/remove") {
		t.Fatalf("no line is exactly the fix command:\n%s", s)
	}

	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "docker.exited-containers: 3 of 3 nodes", "enter finding on the node")
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "Checks with findings", "enter nodes")

	// The hostile node: its finding, escaped.
	tm.moveTo(t, "disk.docker-root-usage")
	tm.keys(t, "Enter")
	tm.waitText(t, 10*time.Second, "disk.docker-root-usage: 1 of 3 nodes", `evil\x1b]2;pwned\x07\x1b[2J-node`)
	tm.keys(t, "Enter")
	s = tm.waitText(t, 10*time.Second, `Node evil\x1b]2;pwned\x07\x1b[2J-node`, `\x1b]2;pwned-too\x07`)
	if !hasLine(s, "ksdoctor fix disk.docker-root-usage/prune") || !hasLine(s, "ksdoctor fix disk.docker-root-usage/migrate") {
		t.Errorf("the fix commands are not on lines of their own:\n%s", s)
	}
	if !strings.Contains(s, "add --to VALUE") {
		t.Errorf("the migrate fix does not say it needs --to:\n%s", s)
	}
	if title, _ := tm.tmux("display-message", "-p", "#{pane_title}"); strings.Contains(title, "pwned") {
		t.Errorf("node data retitled the pane: %q", title)
	}

	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "disk.docker-root-usage: 1 of 3 nodes")
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "Checks with findings", "enter nodes")

	// The cluster's findings, checked once: their fix runs with the
	// kubeconfig.
	tm.moveTo(t, "cluster (checked once)")
	tm.keys(t, "Enter")
	tm.waitText(t, 10*time.Second, "(checked once by the command)", "k8s.evicted-pods")
	tm.moveTo(t, "k8s.evicted-pods")
	tm.keys(t, "Enter")
	s = tm.waitText(t, 10*time.Second, "Fix in the cluster", "--kubeconfig")
	if !hasLine(s, "ksdoctor fix k8s.evicted-pods/delete") {
		t.Errorf("no line is exactly the cluster fix command:\n%s", s)
	}
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "Cluster:", "enter finding")
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "Checks with findings", "enter nodes")
	tm.keys(t, "q")
	if got := tm.exitStatus(t); got != "2" || rep.Summary.ExitCode != 2 {
		t.Errorf("exit status %s (report's %d), want 2", got, rep.Summary.ExitCode)
	}
}

// hasLine reports whether a line of s, trimmed, is exactly want.
func hasLine(s, want string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// TestFleetSweepOpensTUIInTmux: sweep --all-nodes on a terminal, without
// --format or --output, shows the merged report in the fleet view. The
// real binary runs against a real apiserver whose two Node objects have
// no kubelet: both are listed as not answered with the reason, and q
// exits with the report's code, 3.
func TestFleetSweepOpensTUIInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	c := kube.Start(t)
	admin := c.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applyFleetDeploy(t, ctx, admin, kube.Reader)
	kc := c.WriteKubeconfig(t, kube.Reader)
	names := []string{"ksdt-tui-1", "ksdt-tui-2"}
	createNodes(t, ctx, admin, names, nil)

	dir := t.TempDir()
	tm := startTermStatus(t, dir, 110, 30, []string{"TERM=xterm-256color", "NO_COLOR=1"}, bin, "sweep", "--all-nodes",
		"--kubeconfig", kc, "--context", kube.ContextName, "--nodes", strings.Join(names, ","), "--node-timeout", "3s", "--image", "ksdoctor:test")
	tm.waitText(t, 90*time.Second, "FLEET", "this sweep", "2 nodes: 0 answered, 2 not", "exit 3", "did not answer")
	tm.keys(t, "Enter")
	s := tm.waitText(t, 10*time.Second, "2 nodes did not answer", "ksdt-tui-1", "ksdt-tui-2")
	tm.keys(t, "Enter")
	tm.waitText(t, 10*time.Second, "Node ksdt-tui-1", "did not answer:")
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "2 nodes did not answer")
	tm.keys(t, "q")
	if got := tm.exitStatus(t); got != "3" {
		t.Errorf("exit status %s, want 3 (no node answered):\n%s", got, s)
	}
	if left := leftBehind(t, ctx, admin); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestReadFleetFrom: tui --from tells a fleet report from a snapshot, and
// refuses a fleet report it cannot trust, with exit code 3: an unknown
// field, another schema version, a node report that fails the report
// schema.
func TestReadFleetFrom(t *testing.T) {
	dir := t.TempDir()
	path, _ := fleetReportFile(t, dir)
	rep, ok, err := readFleetFrom(path)
	if err != nil || !ok || len(rep.Nodes) != 4 || rep.Nodes[2].Name != hostileNode {
		t.Fatalf("fleet report: ok %v err %v", ok, err)
	}
	if _, ok, err := readFleetFrom("../../fixtures/healthy/snapshot.json"); ok || err != nil {
		t.Fatalf("a snapshot read as a fleet report: ok %v err %v", ok, err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(map[string]any){
		"unknown field":    func(m map[string]any) { m["extra"] = true },
		"schema version 2": func(m map[string]any) { m["schemaVersion"] = 2 },
		"bad node report": func(m map[string]any) {
			m["nodes"].([]any)[0].(map[string]any)["report"].(map[string]any)["schemaVersion"] = "x"
		},
		"node report shape": func(m map[string]any) {
			delete(m["nodes"].([]any)[1].(map[string]any)["report"].(map[string]any), "summary")
		},
	} {
		var doc map[string]any
		if err := json.Unmarshal(good, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		data, _ := json.Marshal(doc)
		bad := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(bad, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := readFleetFrom(bad)
		var ce *cliError
		if !errors.As(err, &ce) || ce.code != exitCannot {
			t.Errorf("%s: err %v, want a refusal with exit 3", name, err)
		}
	}
}

// TestTUIFleetRefusesSnapshotFlagsInTmux: --checks, --skip and --baseline
// judge a snapshot; with a fleet report they are refused with exit 3, not
// silently ignored.
func TestTUIFleetRefusesSnapshotFlagsInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	dir := t.TempDir()
	path, _ := fleetReportFile(t, dir)
	tm := startTermStatus(t, dir, 100, 20, []string{"TERM=xterm-256color", "NO_COLOR=1"}, bin, "tui", "--from", path, "--checks", "docker.exited-containers")
	status := tm.exitStatus(t)
	if s := tm.screen(t); status != "3" || !strings.Contains(s, "leave out --checks") {
		t.Errorf("exit %s, want 3 with a hint:\n%s", status, s)
	}
}

// startTermStatus is startTermEnv with the program run under sh, which
// waits for it and writes its exit status to a file. tmux 3.3a here now and
// then leaves the exited program a zombie it never reaps, so its
// pane_dead_status stays empty (seen in about half of the runs of
// TestTUIFleetInTmux); the shell reaps its own child. The argv reach sh as
// its positional parameters, never as shell text.
func startTermStatus(t testing.TB, dir string, w, h int, env []string, argv ...string) *tmuxTerm {
	t.Helper()
	status := filepath.Join(t.TempDir(), "exit-status")
	script := `"$@"; s=$?; echo "$s" > "$KSDT_EXIT_STATUS"; exit "$s"`
	tm := startTermEnv(t, dir, w, h, append(env, "KSDT_EXIT_STATUS="+status), append([]string{"/bin/sh", "-c", script, "sh"}, argv...)...)
	tm.status = status
	return tm
}

// exitStatus waits for the program started by startTermStatus to exit and
// returns its exit status.
func (tm *tmuxTerm) exitStatus(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(tm.status); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			out, _ := tm.tmux("display-message", "-p", "#{pane_dead}:#{pane_dead_status}:#{pane_pid}")
			t.Fatalf("waiting for exit: timed out after 30s; tmux pane_dead:status:pid %q; screen:\n%s", out, tm.screen(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
