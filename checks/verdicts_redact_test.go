package checks

import (
	"path/filepath"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
)

// TestRealWorldVerdictsSurviveRedaction judges every real-world case with
// every check and runs the verdicts (titles, summaries, explanations,
// reasons, remediation titles and previews) through the secret masking:
// none may change. (report.TestRedactionKeepsVerdicts does the same for
// the fixtures and the check docs.)
func TestRealWorldVerdictsSurviveRedaction(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/realworld/*/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Skip("no real-world cases yet")
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		name := filepath.Base(dir)
		rep := diag.Run(All(), loadRealWorldCase(t, dir), diag.DefaultConfig(), diag.RunOptions{})
		same := func(where, s string) {
			t.Helper()
			if got := redact.String(s); got != s {
				t.Errorf("%s %s: masking changed a verdict\n got: %q\nwant: %q", name, where, got, s)
			}
		}
		for _, f := range rep.Findings {
			for _, s := range []string{f.Title, f.Summary, f.Explanation} {
				same(f.ID, s)
			}
			for _, rem := range f.Remediations {
				same(rem.ID, rem.Title)
				same(rem.ID, rem.Preview)
			}
		}
		for _, c := range rep.Checks {
			same(c.ID, c.Reason)
			same(c.ID, c.Error)
		}
	}
}
