package checks

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// realWorldLoader fills snap from one kind of raw input in a corpus case
// directory and marks the sources it filled as gathered. It returns false
// when the case holds no input of its kind.
type realWorldLoader func(t *testing.T, dir string, snap *diag.Snapshot) bool

// realWorldLoaders are registered by the realworld_*_test.go files, one per
// kind of input (see testdata/realworld/README.md).
var realWorldLoaders = map[string]realWorldLoader{}

// realWorldExpectation is a case's expected.json.
type realWorldExpectation struct {
	Checks   []string                 `json:"checks"`
	Findings map[string]diag.Severity `json:"findings"`
	Absent   []string                 `json:"absent"`
	Status   map[string]diag.Status   `json:"status"`
	Healthy  *bool                    `json:"healthy"`
}

// realWorldNow is the clock of every corpus snapshot, so time-dependent
// verdicts (certificate expiry, reload windows) replay the same.
var realWorldNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// markGathered records src as gathered successfully in snap.
func markGathered(snap *diag.Snapshot, src diag.Source) {
	snap.Sources[src] = &diag.SourceStatus{Source: src, OK: true}
}

// loadRealWorldCase builds the snapshot of one corpus case from its raw inputs.
func loadRealWorldCase(t *testing.T, dir string) *diag.Snapshot {
	t.Helper()
	snap := &diag.Snapshot{
		SchemaVersion: diag.SchemaVersion,
		Tool:          diag.Tool{Name: "ksdoctor", Version: "realworld"},
		HostRoot:      "/",
		StartedAt:     realWorldNow,
		FinishedAt:    realWorldNow,
		Sources:       map[diag.Source]*diag.SourceStatus{},
		Host:          &diag.HostFacts{Hostname: "realworld-node"},
	}
	markGathered(snap, diag.SourceHost)
	kinds := slices.Sorted(maps.Keys(realWorldLoaders))
	loaded := 0
	for _, k := range kinds {
		if realWorldLoaders[k](t, dir, snap) {
			loaded++
		}
	}
	if loaded == 0 {
		t.Fatalf("%s: no loader recognised any input (see testdata/realworld/README.md)", dir)
	}
	return snap
}

// TestRealWorld replays every case under testdata/realworld through the
// checks and compares the verdict with the one a node engineer would give.
func TestRealWorld(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/realworld/*/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Skip("no real-world cases yet")
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "SOURCE")); err != nil {
				t.Fatalf("every case names its source: %v", err)
			}
			var want realWorldExpectation
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&want); err != nil {
				t.Fatalf("expected.json: %v", err)
			}
			if len(want.Findings) == 0 && len(want.Absent) == 0 && len(want.Status) == 0 && want.Healthy == nil {
				t.Fatal("expected.json says nothing")
			}
			snap := loadRealWorldCase(t, dir)
			checks, err := diag.Select(All(), want.Checks, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep := diag.Run(checks, snap, diag.DefaultConfig(), diag.RunOptions{})
			t.Log(verdictLine(rep))
			judgeRealWorld(t, rep, want)
		})
	}
}

// judgeRealWorld compares a report with a case's expectation.
func judgeRealWorld(t *testing.T, rep *diag.Report, want realWorldExpectation) {
	t.Helper()
	got := map[string]diag.Finding{}
	for _, f := range rep.Findings {
		got[f.ID] = f
	}
	for id, sev := range want.Findings {
		f, ok := got[id]
		switch {
		case !ok:
			t.Errorf("finding %s missing; got %s", id, verdictLine(rep))
		case f.Severity != sev:
			t.Errorf("finding %s: got severity %s, want %s (%s)", id, f.Severity, sev, f.Summary)
		}
	}
	for _, id := range want.Absent {
		for _, f := range rep.Findings {
			if f.ID == id || f.Check == id {
				t.Errorf("finding %s (%s) must be absent: %s", f.ID, f.Severity, f.Summary)
			}
		}
	}
	status := map[string]diag.CheckResult{}
	for _, c := range rep.Checks {
		status[c.ID] = c
	}
	for id, st := range want.Status {
		c, ok := status[id]
		if !ok {
			t.Errorf("check %s did not run", id)
			continue
		}
		if c.Status != st {
			t.Errorf("check %s: got status %s, want %s (error %q, reason %q)", id, c.Status, st, c.Error, c.Reason)
		}
	}
	if want.Healthy != nil && *want.Healthy {
		for _, f := range rep.Findings {
			if f.Severity.Rank() >= diag.Warning.Rank() {
				t.Errorf("healthy shape got %s %s: %s", f.Severity, f.ID, f.Summary)
			}
		}
	}
}

// verdictLine is one line naming every finding with its severity, and every
// check that errored, for logs and for the closing note.
func verdictLine(rep *diag.Report) string {
	var parts []string
	for _, f := range rep.Findings {
		parts = append(parts, f.ID+" "+string(f.Severity))
	}
	for _, c := range rep.Checks {
		if c.Status == diag.StatusError {
			parts = append(parts, c.ID+" status error")
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "healthy (no finding, no error)"
	}
	return strings.Join(parts, "; ")
}
