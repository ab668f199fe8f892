package report

import (
	"path/filepath"
	"testing"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/redact"
)

// TestRedactionKeepsVerdicts runs every check's own words (ID, title,
// doc) and every verdict the fixtures produce (titles, summaries,
// explanations, reasons, remediation titles and previews) through the
// masking: none may change. Masking that ate "secret default/x-secret:
// certificate ... does not cover ..." would fail here.
func TestRedactionKeepsVerdicts(t *testing.T) {
	same := func(where, s string) {
		t.Helper()
		if got := redact.String(s); got != s {
			t.Errorf("%s: masking changed a verdict\n got: %q\nwant: %q", where, got, s)
		}
	}
	for _, c := range checks.All() {
		same(c.ID+" id", c.ID)
		same(c.ID+" title", c.Title)
		same(c.ID+" doc", c.Doc)
	}
	paths, err := filepath.Glob("../fixtures/*/snapshot.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	n := 0
	for _, p := range paths {
		snap, err := load.Snapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		rep := diag.Run(checks.All(), snap, diag.DefaultConfig(), diag.RunOptions{})
		for _, f := range rep.Findings {
			where := filepath.Base(filepath.Dir(p)) + " " + f.ID
			for _, s := range []string{f.ID, f.Title, f.Summary, f.Explanation} {
				same(where, s)
				n++
			}
			for _, rem := range f.Remediations {
				same(where+" "+rem.ID, rem.Title)
				same(where+" "+rem.ID, rem.Preview)
			}
		}
		for _, c := range rep.Checks {
			same(c.ID+" reason", c.Reason)
			same(c.ID+" error", c.Error)
		}
	}
	if n == 0 {
		t.Fatal("the fixtures gave no verdicts")
	}
}
