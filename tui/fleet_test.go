package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
)

// hostileName is a node name as a hostile node (or a doctored report)
// could send it: an OSC retitling the window and a screen clear.
const hostileName = "evil\x1b]0;pwned\x07\x1b[2J-node"

// fixtureFleet is a fleet of three answering nodes (one with a hostile
// name and a hostile summary) and one that did not answer.
func fixtureFleet() *fleet.Report {
	nodeRep := func(host string) *diag.Report {
		r := fixtureReport()
		r.Host.Hostname = host
		return r
	}
	hostile := nodeRep(hostileName)
	for i := range hostile.Findings {
		hostile.Findings[i].Summary = "boom\x1b[31m red \u009b2J and \u202egnp.exe"
	}
	r := &fleet.Report{
		SchemaVersion: 1, Kind: "fleet", Tool: diag.Tool{Name: "ksdoctor", Version: "test"},
		SweepID: "abc123", Namespace: "ksdoctor", StartedAt: sweptAt, DurationMs: 4200,
		Nodes: []fleet.Node{
			{Name: "node-1", Answered: true, Report: nodeRep("node-1")},
			{Name: "node-2", Answered: true, Report: nodeRep("node-2")},
			{Name: hostileName, Answered: true, Report: hostile},
			{Name: "node-gone", Reason: fleet.ReasonNoKubelet, Detail: "pod Pending for 2m0s: no kubelet posted status", Job: "ksdoctor-abc123-node-gone", Pod: "ksdoctor-abc123-node-gone-x"},
		},
	}
	fleet.Merge(r)
	return r
}

func newFleetTest(t *testing.T, rep *fleet.Report) fleetModel {
	t.Helper()
	m := newFleetModel(rep, FleetOptions{Path: "/tmp/fleet.json", Checks: fixtureChecks(fixtureReport())})
	return fleetSend(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
}

// fleetSend gives one message to the fleet view and runs what follows.
func fleetSend(t *testing.T, m fleetModel, msg tea.Msg) fleetModel {
	t.Helper()
	queue := []tea.Msg{msg}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 100 {
			t.Fatal("too many messages")
		}
		next, cmd := m.Update(queue[0])
		m, queue = next.(fleetModel), queue[1:]
		if cmd == nil {
			continue
		}
		switch out := cmd().(type) {
		case nil, tea.QuitMsg:
		case tea.BatchMsg:
			for _, c := range out {
				if c != nil {
					if x := c(); x != nil {
						queue = append(queue, x)
					}
				}
			}
		default:
			queue = append(queue, out)
		}
	}
	return m
}

func fleetKeys(t *testing.T, m fleetModel, presses ...string) fleetModel {
	t.Helper()
	for _, p := range presses {
		m = fleetSend(t, m, keyMsg(p))
	}
	return m
}

// checkFrame asserts a frame is exactly w×h cells at most and holds no
// escape sequence (the tests' colour profile is plain ASCII, so any ESC
// came from the data).
func checkFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Errorf("line %d is %d cells wide (> %d): %q", i, ansi.StringWidth(l), w, l)
		}
	}
	if strings.ContainsAny(view, "\x1b\x07\x9b\u202e") {
		t.Errorf("frame holds a control character from node data:\n%q", view)
	}
}

// TestFleetNavigate walks checks → nodes → detail, sees the exact fix
// command for that node, then backs out to the checks and quits.
func TestFleetNavigate(t *testing.T) {
	m := newFleetTest(t, fixtureFleet())
	v := m.View()
	checkFrame(t, v, 80, 24)
	mustContain(t, v, "FLEET", "fleet abc123", "4 nodes: 3 answered, 1 not", "3 of 3 nodes", "disk.docker-root-usage", "1 of 4 nodes", "did not answer")

	m = fleetKeys(t, m, "down", "enter") // the first warning: docker.exited-containers
	if len(m.stack) != 2 {
		t.Fatalf("enter on a check: %d screens, want 2", len(m.stack))
	}
	v = m.View()
	mustContain(t, v, "docker.exited-containers: 3 of 3 nodes", "node-1", "node-2")
	checkFrame(t, v, 80, 24)

	m = fleetKeys(t, m, "down", "enter") // node-2
	v = m.View()
	mustContain(t, v, "Node node-2", "3 exited containers not managed by kubelet", "Fix on node node-2",
		"ksdoctor fix docker.exited-containers/remove")
	checkFrame(t, v, 80, 24)
	// The fleet view has no engine and no fix keys: f, y and 1 change
	// nothing.
	if m2 := fleetKeys(t, m, "f", "y", "1"); m2.View() != v || len(m2.stack) != 3 {
		t.Errorf("fix keys changed the fleet view:\n%s", m2.View())
	}

	m = fleetKeys(t, m, "esc")
	mustContain(t, m.View(), "docker.exited-containers: 3 of 3 nodes")
	m = fleetKeys(t, m, "esc")
	if len(m.stack) != 1 {
		t.Fatalf("after two esc: %d screens, want the checks", len(m.stack))
	}
	m = fleetKeys(t, m, "esc") // nothing below the checks
	if len(m.stack) != 1 {
		t.Fatalf("esc on the checks left %d screens", len(m.stack))
	}
	next, cmd := m.Update(keyMsg("q"))
	if _, ok := cmd().(tea.QuitMsg); !ok || next.(fleetModel).View() != "" {
		t.Fatalf("q did not quit")
	}
}

// TestFleetMissingNodes shows the nodes that did not answer and why.
func TestFleetMissingNodes(t *testing.T) {
	m := newFleetTest(t, fixtureFleet())
	m = fleetKeys(t, m, "pgdown", "enter")
	v := m.View()
	mustContain(t, v, "1 nodes did not answer", "node-gone", "no kubelet")
	m = fleetKeys(t, m, "enter")
	v = m.View()
	mustContain(t, v, "Node node-gone", "did not answer: no kubelet", "pod Pending for 2m0s", "job ksdoctor-abc123-node-gone")
	if strings.Contains(v, "ksdoctor fix") {
		t.Errorf("a node without a report shows a fix command:\n%s", v)
	}
}

// TestFleetHostileNodeEscaped: a node name and messages holding escape
// sequences reach the terminal as visible text, on every screen.
func TestFleetHostileNodeEscaped(t *testing.T) {
	rep := fixtureFleet()
	m := newFleetTest(t, rep)
	m = fleetKeys(t, m, "down", "enter")
	for range 3 {
		checkFrame(t, m.View(), 80, 24)
		m = fleetKeys(t, m, "down")
	}
	// Select the hostile node by its (escaped) name.
	m = newFleetTest(t, rep)
	m = fleetKeys(t, m, "down", "enter", "down", "down", "enter")
	m = fleetSend(t, m, tea.WindowSizeMsg{Width: 200, Height: 40})
	v := m.View()
	checkFrame(t, v, 200, 40)
	mustContain(t, v, `Node evil\x1b]0;pwned\x07\x1b[2J-node`, `boom\x1b[31m red \u009b2J and \u202egnp.exe`,
		"ksdoctor fix docker.exited-containers/remove")
	// The report itself is left as it was (the view works on a copy).
	if rep.Nodes[2].Name != hostileName {
		t.Errorf("the caller's report was changed: %q", rep.Nodes[2].Name)
	}
}

// TestFleetFixCommandOnlyForKnownIDs: a remediation ID from a node becomes
// a command only in the shape remediation IDs have and for a known check.
func TestFleetFixCommandOnlyForKnownIDs(t *testing.T) {
	known := map[string]bool{"docker.exited-containers": true, "disk.docker-root-usage": true}
	for _, tc := range []struct {
		id, want string
		input    *diag.InputSpec
	}{
		{id: "docker.exited-containers/remove", want: "ksdoctor fix docker.exited-containers/remove"},
		{id: "disk.docker-root-usage/migrate", want: "ksdoctor fix disk.docker-root-usage/migrate", input: &diag.InputSpec{Name: "to", Prompt: "New data-root directory"}},
		{id: "docker.exited-containers/remove; rm -rf /"},
		{id: "docker.exited-containers/remove$(id)"},
		{id: "docker.exited-containers/rem\x1bove"},
		{id: "-docker.exited-containers/remove"},
		{id: "net.unknown-check/fix"},
		{id: "docker.exited-containers"},
	} {
		cmd, note := fixCommand(diag.Remediation{ID: tc.id, Input: tc.input}, known)
		if cmd != tc.want {
			t.Errorf("%q: command %q, want %q", tc.id, cmd, tc.want)
		}
		if cmd == "" && !strings.Contains(note, "no command") {
			t.Errorf("%q: no command and no reason (%q)", tc.id, note)
		}
		if tc.input != nil && !strings.Contains(note, "--to VALUE") {
			t.Errorf("%q: note %q does not name --to", tc.id, note)
		}
	}
}

// TestFleetComponentsResize: every fleet component fits any size it is
// given, and the detail re-wraps its text to the new width.
func TestFleetComponentsResize(t *testing.T) {
	rep := safeFleet(fixtureFleet())
	f := newFrame(newStyles(), newKeyMap(false))
	known := map[string]bool{"docker.exited-containers": true}
	nf := rep.Checks[1].Nodes[0]
	comps := map[string]component{
		"checks": newFleetChecks(f, rep, known),
		"nodes":  newFleetNodes(f, rep, &rep.Checks[1], known),
		"detail": newFleetDetail(f, &rep.Nodes[0], &nf, known),
	}
	for name, c := range comps {
		for _, sz := range [][2]int{{20, 4}, {80, 20}, {200, 60}, {33, 7}} {
			c.SetSize(sz[0], sz[1])
			v := fit(c.View(), sz[0], sz[1])
			if n := len(strings.Split(c.View(), "\n")); n > sz[1] {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], n)
			}
			checkFrame(t, v, sz[0], sz[1])
		}
	}
	d := comps["detail"].(*fleetDetail)
	d.SetSize(40, 20)
	narrow := len(d.sc.lines)
	d.SetSize(160, 20)
	if wide := len(d.sc.lines); wide >= narrow {
		t.Errorf("detail has %d lines at 160 cells and %d at 40: not re-wrapped", wide, narrow)
	}
}

// TestFleetComponentsKeysAndHelp: each component's help lists only keys it
// handles, each with a help text, and ? shows the full help of the
// screen on top.
func TestFleetComponentsKeysAndHelp(t *testing.T) {
	m := newFleetTest(t, fixtureFleet())
	for depth, want := range []string{"nodes", "finding on the node", "scroll"} {
		for _, b := range m.top().ShortHelp() {
			if b.Help().Key == "" || b.Help().Desc == "" || !b.Enabled() {
				t.Errorf("screen %d: key %v without help or disabled", depth, b.Keys())
			}
		}
		mustContain(t, m.help.ShortHelpView(m.top().ShortHelp()), want)
		if depth > 0 {
			mustContain(t, m.View(), "esc back")
		}
		h := fleetKeys(t, m, "?")
		mustContain(t, h.View(), "Keys", "pgdn", "Fixes are not applied from here")
		if h = fleetKeys(t, h, "x"); h.showHelp || len(h.stack) != depth+1 {
			t.Errorf("any key did not just close the help")
		}
		m = fleetKeys(t, m, "enter")
	}
	// The detail scrolls and stops at its ends.
	m = fleetSend(t, m, tea.WindowSizeMsg{Width: 80, Height: 12})
	d := m.top().(*fleetDetail)
	m = fleetKeys(t, m, "pgdown", "pgdown", "pgdown", "pgdown", "pgdown")
	if d.sc.offset == 0 || d.sc.offset > len(d.sc.lines) {
		t.Errorf("pgdown: offset %d of %d lines", d.sc.offset, len(d.sc.lines))
	}
	mustContain(t, m.View(), "Evidence", "Used: 93%")
	m = fleetKeys(t, m, "up", "pgup", "pgup", "pgup", "pgup")
	if d.sc.offset != 0 {
		t.Errorf("pgup: offset %d", d.sc.offset)
	}
	mustContain(t, m.View(), "Node node-1", "disk.docker-root-usage")
}

// TestFleetKeysBurst: keys typed faster than one read are handled one by
// one.
func TestFleetKeysBurst(t *testing.T) {
	m := newFleetTest(t, fixtureFleet())
	m = fleetSend(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jj")})
	if c := m.stack[0].(*fleetChecks); c.menu.cursor != 2 {
		t.Errorf("cursor %d after jj, want 2", c.menu.cursor)
	}
}

func TestGoldenFleet(t *testing.T) {
	m := newFleetTest(t, fixtureFleet())
	golden(t, "fleet-checks", m.View())
	m = fleetKeys(t, m, "down", "enter")
	golden(t, "fleet-nodes", m.View())
	m = fleetKeys(t, m, "enter")
	golden(t, "fleet-detail", m.View())
}

// FuzzFleetKeys presses arbitrary keys in the fleet view of a report with
// a hostile node: nothing panics, every frame fits 80x24 and holds no
// control character from node data, and the screens stack at most three
// deep.
func FuzzFleetKeys(f *testing.F) {
	f.Add([]byte{0, 2, 2, 3, 3})
	f.Add([]byte{1, 1, 2, 0, 0, 2, 2, 4, 3, 3, 3})
	f.Add([]byte{6, 2, 2, 7, 5, 3})
	alphabet := []string{"down", "up", "enter", "esc", "pgdown", "?", "pgup", "x"}
	rep := fixtureFleet()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		m := newFleetTest(t, rep)
		for _, b := range data {
			m = fleetKeys(t, m, alphabet[int(b)%len(alphabet)])
			if len(m.stack) < 1 || len(m.stack) > 3 {
				t.Fatalf("%d screens stacked", len(m.stack))
			}
			checkFrame(t, m.View(), 80, 24)
		}
	})
}

// TestFleetCluster: the cluster's findings (checked once by the command)
// are the first row; their detail says where to run the fix.
func TestFleetCluster(t *testing.T) {
	rep := fixtureFleet()
	rep.Cluster = fixtureReport()
	m := newFleetTest(t, rep)
	mustContain(t, m.View(), "› ✖ critical 4 findings", "cluster (checked once)")
	m = fleetKeys(t, m, "enter")
	mustContain(t, m.View(), "Cluster: 4 findings", "Docker data-root 93% full", "enter finding")
	m = fleetKeys(t, m, "down", "enter")
	v := m.View()
	mustContain(t, v, "Cluster (checked once by the command)", "Fix in the cluster",
		"(--kubeconfig, --context) of this cluster", "ksdoctor fix docker.exited-containers/remove")
	checkFrame(t, v, 80, 24)
	m = fleetKeys(t, m, "esc", "esc", "down", "enter")
	mustContain(t, m.View(), "disk.docker-root-usage: 3 of 3 nodes")
}
