package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSuppressionsCLI: a replayed snapshot (node3, 2026-11-20) with a
// suppression for its warning exits 0 with the finding still in the
// report, marked and counted apart; the same entry past its until date
// is a warning again; --no-ignore shows everything; a config without a
// reason is refused.
func TestSuppressionsCLI(t *testing.T) {
	snap := filepath.Join("..", "..", "fixtures", "exited-containers", "snapshot.json")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := func(until string) string {
		return `suppressions:
- check: docker.exited-containers
  node: node3
  reason: Jenkins agents leave containers, cleaned nightly
  until: ` + until + `
- finding: "net.docker0-masquerade-mising/*"
  reason: a typo must not hide silently
- check: disk.docker-root-usage
  node: node7
  reason: for another node
`
	}
	active := write("active.yaml", conf("2026-12-31"))
	r := ksd(t, "sweep", "--format", "json", "--from", snap, "--config", active)
	r.wantCode(t, 0)
	rep := decodeReport(t, []byte(r.stdout))
	f, ok := rep.Finding("docker.exited-containers")
	if !ok || f.Suppressed == nil || f.Suppressed.Entry != 1 || f.Suppressed.Until != "2026-12-31" {
		t.Fatalf("docker.exited-containers = %+v, want suppressed by entry 1", f)
	}
	if rep.Summary.Warning != 0 || rep.Summary.Suppressed != 1 || rep.Summary.Info != 1 {
		t.Errorf("summary %+v, want 0 warning, 1 suppressed, 1 info (the unused entry)", rep.Summary)
	}
	if _, ok := rep.Finding("ksdoctor.suppression-unused/2"); !ok {
		t.Errorf("the entry with a typo is not reported: %v", findingIDs(rep))
	}
	if _, ok := rep.Finding("ksdoctor.suppression-unused/3"); ok {
		t.Errorf("an entry for another node is reported unused")
	}
	txt := ksd(t, "sweep", "--from", snap, "--config", active)
	txt.wantCode(t, 0)
	for _, want := range []string{"1 suppressed", "SUPPRESSED ▲ WARNING", "suppressed (entry 1, until 2026-12-31): Jenkins agents"} {
		if !strings.Contains(txt.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.stdout)
		}
	}
	md := ksd(t, "sweep", "--format", "markdown", "--from", snap, "--config", active)
	if !strings.Contains(md.stdout, "> Suppressed (entry 1, until 2026-12-31)") || !strings.Contains(md.stdout, "1 suppressed") {
		t.Errorf("markdown report does not mark the suppression:\n%s", md.stdout)
	}

	// Past its date (the snapshot's date, not today's) the entry is a
	// warning and the finding counts again.
	expired := write("expired.yaml", conf("2026-11-19"))
	r = ksd(t, "sweep", "--format", "json", "--from", snap, "--config", expired)
	r.wantCode(t, 1)
	rep = decodeReport(t, []byte(r.stdout))
	if f, _ := rep.Finding("docker.exited-containers"); f.Suppressed != nil {
		t.Errorf("suppressed by an expired entry: %+v", f.Suppressed)
	}
	if f, ok := rep.Finding("ksdoctor.suppression-expired/1"); !ok || f.Severity != "warning" {
		t.Errorf("no expired warning: %v", findingIDs(rep))
	}

	r = ksd(t, "sweep", "--format", "json", "--from", snap, "--config", active, "--no-ignore")
	r.wantCode(t, 1)
	rep = decodeReport(t, []byte(r.stdout))
	if rep.Summary.Suppressed != 0 || len(rep.Findings) != 1 {
		t.Errorf("--no-ignore: %v, summary %+v", findingIDs(rep), rep.Summary)
	}

	bad := write("bad.yaml", "suppressions:\n- check: docker.exited-containers\n")
	r = ksd(t, "sweep", "--from", snap, "--config", bad)
	r.wantCode(t, 3)
	if !strings.Contains(r.stderr, "reason is mandatory") {
		t.Errorf("stderr %q does not say the reason is missing", r.stderr)
	}
}
