package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// fixtureReport replays a fixture into a JSON report file in dir.
func fixtureReport(t *testing.T, dir, fixture string) string {
	t.Helper()
	out := filepath.Join(dir, fixture+".json")
	r := ksd(t, "sweep", "--format", "json", "--output", out, "--from", filepath.Join("..", "..", "fixtures", fixture, "snapshot.json"))
	if r.code == exitCannot {
		t.Fatalf("replay %s: %s", fixture, r.stderr)
	}
	return out
}

// TestTUIBaselineInTmux: tui --baseline in a real terminal tags the
// findings the baseline report lacks as new, and the detail says so.
func TestTUIBaselineInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	dir := t.TempDir()
	base, err := filepath.Abs(fixtureReport(t, dir, "healthy"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := filepath.Abs("../../fixtures/exited-containers/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	tm := startTermEnv(t, t.TempDir(), 100, 30, []string{"TERM=xterm-256color", "NO_COLOR=1"}, bin, "tui", "--from", snap, "--baseline", base)
	tm.waitText(t, 30*time.Second, "REPLAY", "Findings", "new 12 exited containers")
	tm.keys(t, "Enter")
	tm.waitText(t, 10*time.Second, "new: not in the baseline report")
	tm.keys(t, "Escape")
	tm.keys(t, "q")
}
