package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

func visibleIDs(m Model) []string {
	var ids []string
	for _, f := range m.list.visible {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestSeverityTabCycles(t *testing.T) {
	m := swept(t, newFake(), Options{})
	want := []struct {
		sev diag.Severity
		n   int
	}{{diag.Critical, 1}, {diag.Warning, 2}, {diag.Info, 1}, {"", 4}}
	for _, w := range want {
		m = keys(t, m, "tab")
		if m.list.sevFilter != w.sev || len(m.list.visible) != w.n {
			t.Errorf("after tab: filter %q with %v, want %q with %d", m.list.sevFilter, visibleIDs(m), w.sev, w.n)
		}
		for _, f := range m.list.visible {
			if w.sev != "" && f.Severity != w.sev {
				t.Errorf("filter %s shows %s (%s)", w.sev, f.ID, f.Severity)
			}
		}
	}
}

func TestTextFilter(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = keys(t, m, "/")
	m = typeText(t, m, "masq")
	if ids := visibleIDs(m); len(ids) != 1 || ids[0] != "net.docker0-masquerade-missing" {
		t.Fatalf("filter masq shows %v", ids)
	}
	// While typing, q is text, not quit.
	m = typeText(t, m, "q")
	if m.quitting {
		t.Fatal("q quit while typing a filter")
	}
	m = keys(t, m, "backspace", "enter")
	if m.list.filtering || len(m.list.visible) != 1 {
		t.Fatalf("after enter: filtering=%v visible %v", m.list.filtering, visibleIDs(m))
	}
	mustContain(t, m.View(), "filter: masq")
	m = keys(t, m, "esc")
	if len(m.list.visible) != 4 {
		t.Fatalf("esc kept the filter: %v", visibleIDs(m))
	}
}

func TestFollowLinks(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "enter")
	mustContain(t, m.View(), "Causes", "Docker data-root 93% full")
	m = keys(t, m, "enter")
	if m.detail.id != "disk.docker-root-usage" {
		t.Fatalf("enter on the link opened %s", m.detail.id)
	}
	mustContain(t, m.View(), "Caused by", "3 exited containers")
	m = keys(t, m, "esc")
	if m.screen != screenDetail || m.detail.id != "docker.exited-containers" {
		t.Fatalf("esc went to screen %d %s, want back to the first detail", m.screen, m.detail.id)
	}
	m = keys(t, m, "esc")
	if m.screen != screenList {
		t.Fatalf("second esc: screen %d, want the list", m.screen)
	}
	if f, _ := m.list.selected(); f.ID != "docker.exited-containers" {
		t.Errorf("list cursor on %s", f.ID)
	}
}

func TestExportWritesBothFiles(t *testing.T) {
	dir := t.TempDir()
	f := newFake()
	m := swept(t, f, Options{ExportDir: dir})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f", "y", "esc", "e")
	base := filepath.Join(dir, "ksdoctor-node-1-20261126T183000Z")
	v := m.View()
	mustContain(t, v, "exported")
	for _, p := range []string{base + ".json", base + ".md"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("export: %v\n%s", err, v)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.ValidateJSON(data); err != nil {
		t.Errorf("exported report does not match the schema: %v", err)
	}
	var rep diag.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Applied) != 1 || rep.Applied[0].RemediationID != "docker.exited-containers/remove" || !rep.Applied[0].Verified {
		t.Errorf("exported applied %+v", rep.Applied)
	}
	md, _ := os.ReadFile(base + ".md")
	if !strings.Contains(string(md), "docker.exited-containers/remove") {
		t.Errorf("markdown lacks the applied fix:\n%s", md)
	}
}

func TestExportFailureIsShown(t *testing.T) {
	m := swept(t, newFake(), Options{ExportDir: "/nonexistent/ksdt-tui"})
	m = keys(t, m, "e")
	mustContain(t, m.View(), "export failed")
}

func TestResweepKeepsApplied(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f", "y", "esc")
	m = keys(t, m, "r")
	if m.screen != screenList || m.sweeping {
		t.Fatalf("after r: screen %d sweeping %v", m.screen, m.sweeping)
	}
	if len(m.s.applied) != 1 {
		t.Errorf("applied list lost on re-sweep: %v", m.s.applied)
	}
	if m.gen != 2 {
		t.Errorf("sweep generation %d, want 2", m.gen)
	}
}

// blockingEngine holds its sweep until released.
type blockingEngine struct {
	*fakeEngine
	release chan struct{}
}

func (b blockingEngine) Sweep(ctx context.Context, p doctor.Progress) (*diag.Snapshot, *diag.Report) {
	p.Source(b.sources[0])
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return b.fakeEngine.Sweep(ctx, p)
}

func TestFirstFrameBeforeGatheringEnds(t *testing.T) {
	eng := blockingEngine{fakeEngine: newFake(), release: make(chan struct{})}
	defer close(eng.release)
	m := newTestModel(t, eng, Options{Checks: fixtureChecks(eng.rep)})
	v := m.View()
	mustContain(t, v, "Sweeping this node", "running")
	// The first command returns the first progress event while the
	// engine is still gathering.
	ev, ok := m.Init()().(sweepEventMsg)
	if !ok {
		t.Fatal("Init's command does not return a sweep event")
	}
	if ev.ev.source == nil || ev.ev.done {
		t.Fatalf("first event %+v, want a source", ev.ev)
	}
	next, _ := m.Update(ev)
	mustContain(t, next.(Model).View(), "✔ host", "Sweeping this node")
}

func TestEveryFrameFits(t *testing.T) {
	sizes := [][2]int{{80, 24}, {100, 30}, {60, 15}, {200, 50}, {20, 8}}
	screens := map[string][]string{
		"list":    nil,
		"detail":  {"enter"},
		"preview": {"down", "f"},
		"result":  {"down", "f", "y"},
		"help":    {"?"},
	}
	for name, presses := range screens {
		for _, sz := range sizes {
			m := swept(t, newFake(), Options{})
			m = send(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			m = keys(t, m, presses...)
			lines := strings.Split(m.View(), "\n")
			h := max(sz[1], 8)
			if len(lines) != h {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > max(sz[0], 20) {
					t.Errorf("%s at %dx%d: line %d is %d cells: %q", name, sz[0], sz[1], i, w, l)
				}
			}
		}
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := swept(t, newFake(), Options{})
		next, cmd := m.Update(keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok || !next.(Model).quitting {
			t.Errorf("%s does not quit", k)
		}
	}
}

func TestSecretsRedactedOnScreen(t *testing.T) {
	f := newFake()
	f.rep.Findings[0].Evidence = append(f.rep.Findings[0].Evidence, diag.Evidence{Label: "Env", Value: "password=hunter2"})
	m := swept(t, f, Options{})
	m = keys(t, m, "enter")
	v := m.View()
	if strings.Contains(v, "hunter2") {
		t.Fatalf("secret on screen:\n%s", v)
	}
	mustContain(t, v, "[redacted]")
}

// With more checks than rows, the sweep view keeps the running checks in
// view and says how many finished ones scrolled away.
func TestSweepViewWindowsManyChecks(t *testing.T) {
	f := newFake()
	var checks []diag.Check
	for i := range 30 {
		checks = append(checks, diag.Check{ID: fmt.Sprintf("test.check-%02d", i), Title: "check", Needs: []diag.Source{diag.SourceDocker}})
	}
	m := newTestModel(t, f, Options{Checks: checks})
	for i := range 20 {
		res := diag.CheckResult{ID: checks[i].ID, Status: diag.StatusPass, DurationMs: 0.1}
		next, _ := m.Update(sweepEventMsg{gen: m.gen, ev: sweepEvent{check: &res}})
		m = next.(Model)
	}
	v := m.View()
	mustContain(t, v, "test.check-20", "↑", "20/30 checks")
	if strings.Contains(v, "test.check-00 ") {
		t.Errorf("the oldest finished check is still shown:\n%s", v)
	}
}
