package act

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadJournal: any journal content (torn lines, garbage, huge lines)
// is read without a panic; every whole record line is kept, and a record
// after a bad line is never lost.
func FuzzReadJournal(f *testing.F) {
	good := `{"time":"2026-12-07T10:00:00Z","remediationId":"docker.exited-containers/remove","title":"Remove 3","outcome":"verified","durationMs":12,"steps":[]}`
	f.Add([]byte(good + "\n"))
	f.Add([]byte(good[:40] + "\n" + good + "\n"))
	f.Add([]byte("\n\n{}\n[1]\n"))
	f.Add([]byte(good + "\n" + `{"outcome":"timed out","steps":[{"kind":"docker.container.remove","outcome":"unknown"}]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		p := filepath.Join(root, JournalPath)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		// A known record after the fuzzed bytes must survive them.
		tail := "\n" + good + "\n"
		if err := os.WriteFile(p, append(bytes.Clone(data), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		recs, _ := ReadJournal(root)
		if len(recs) == 0 || recs[len(recs)-1].RemediationID != "docker.exited-containers/remove" {
			t.Fatalf("the record after the fuzzed lines was lost: %d records", len(recs))
		}
		if lines := strings.Count(string(data)+tail, "\n") + 1; len(recs) > lines {
			t.Fatalf("%d records from %d lines", len(recs), lines)
		}
	})
}
