package checks

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

// FuzzReplay: any snapshot the reader accepts goes through every check
// and every renderer; no check panics, the JSON report is valid against
// the schema (counts included), and a check that could not judge is never
// hidden: the summary's errored count matches.
func FuzzReplay(f *testing.F) {
	paths, _ := filepath.Glob("../fixtures/*/snapshot.json")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := diag.ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		rep := diag.Run(All(), snap, diag.DefaultConfig(), diag.RunOptions{})
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Error, "check panicked") {
				t.Fatalf("%s: %s", c.ID, c.Error)
			}
		}
		for _, format := range []report.Format{report.FormatText, report.FormatMarkdown, report.FormatJSON} {
			var buf bytes.Buffer
			if err := report.Write(&buf, rep, format, report.Options{}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if format == report.FormatJSON {
				if err := schemacheck.ValidateJSON(buf.Bytes()); err != nil {
					t.Fatalf("report invalid: %v", err)
				}
			}
		}
	})
}
