package checks

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

var update = flag.Bool("update", false, "rewrite fixtures/*/expected.json from the current checks")

// expectation is what a fixture scenario must produce: every finding by
// ID with its severity, links and remediation IDs, and every check's status.
type expectation struct {
	Findings []expectedFinding      `json:"findings"`
	Checks   map[string]diag.Status `json:"checks"`
}

type expectedFinding struct {
	ID           string        `json:"id"`
	Severity     diag.Severity `json:"severity"`
	CausedBy     []string      `json:"causedBy,omitempty"`
	Remediations []string      `json:"remediations,omitempty"`
}

func expect(r *diag.Report) expectation {
	e := expectation{Checks: map[string]diag.Status{}}
	for _, c := range r.Checks {
		e.Checks[c.ID] = c.Status
	}
	for _, f := range r.Findings {
		ef := expectedFinding{ID: f.ID, Severity: f.Severity, CausedBy: f.CausedBy}
		for _, rem := range f.Remediations {
			ef.Remediations = append(ef.Remediations, rem.ID)
		}
		e.Findings = append(e.Findings, ef)
	}
	slices.SortFunc(e.Findings, func(a, b expectedFinding) int { return cmpString(a.ID, b.ID) })
	return e
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestFixtures replays every recorded scenario under fixtures/ and compares
// the findings with the expectation beside it; every report must also
// validate against the published schema.
func TestFixtures(t *testing.T) {
	dirs, err := filepath.Glob("../fixtures/*/snapshot.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			snap, err := load.Snapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			rep := diag.Run(All(), snap, diag.DefaultConfig(), diag.RunOptions{})
			got := expect(rep)
			var buf bytes.Buffer
			if err := report.WriteJSON(&buf, rep); err != nil {
				t.Fatal(err)
			}
			if err := schemacheck.ValidateJSON(buf.Bytes()); err != nil {
				t.Errorf("report invalid: %v", err)
			}
			expPath := filepath.Join(dir, "expected.json")
			if *update {
				data, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(expPath, append(data, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("read expectation (go test ./checks -run TestFixtures -update writes it): %v", err)
			}
			var want expectation
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("findings differ\n got: %s\nwant: %s", gotJSON, wantJSON)
			}
		})
	}
}
