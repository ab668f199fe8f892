package tui

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestGoldenSweepInProgress(t *testing.T) {
	f := newFake()
	m := newTestModel(t, f, Options{})
	// Events as the engine reports them, without the sweep ending.
	for _, ev := range []sweepEvent{
		{source: &f.sources[0]},
		{source: &f.sources[1]},
		{check: &f.rep.Checks[0]},
		{check: &f.rep.Checks[1]},
	} {
		next, _ := m.Update(sweepEventMsg{gen: m.gen, ev: ev})
		m = next.(Model)
	}
	golden(t, "sweep", m.View())
}

func TestGoldenFirstFrame(t *testing.T) {
	m := newTestModel(t, newFake(), Options{})
	golden(t, "first-frame", m.View())
}

func TestGoldenList(t *testing.T) {
	m := swept(t, newFake(), Options{})
	golden(t, "list", m.View())
}

func TestGoldenDetail(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "enter")
	golden(t, "detail", m.View())
}

func TestGoldenPreview(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f")
	golden(t, "preview", m.View())
}

func TestGoldenPreviewHighRisk(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = selectFinding(t, m, "net.docker0-masquerade-missing")
	m = keys(t, m, "2")
	golden(t, "preview-high-risk", m.View())
}

func TestGoldenResult(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f", "y")
	golden(t, "result", m.View())
	m = keys(t, m, "esc")
	golden(t, "list-resolved", m.View())
}

func TestGoldenReadOnly(t *testing.T) {
	m := swept(t, newFake(), Options{ReadOnly: true})
	golden(t, "list-read-only", m.View())
}

func TestGoldenReplay(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{From: &diag.Snapshot{}, FromPath: "node-1.snapshot.json"})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "enter")
	golden(t, "detail-replay", m.View())
}

func TestGoldenHelp(t *testing.T) {
	m := swept(t, newFake(), Options{})
	m = keys(t, m, "?")
	golden(t, "help", m.View())
}
