package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/report"
)

// fixtureReport replays a fixture into a JSON report file.
func fixtureReport(t *testing.T, dir, fixture string, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, fixture+".json")
	args := append([]string{"sweep", "--format", "json", "--output", out, "--from", filepath.Join("..", "..", "fixtures", fixture, "snapshot.json")}, extra...)
	if r := ksd(t, args...); r.code == exitCannot {
		t.Fatalf("replay %s: %s", fixture, r.stderr)
	}
	return out
}

func decodeDiff(t *testing.T, s string) *report.Diff {
	t.Helper()
	var d report.Diff
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("diff JSON: %v\n%s", err, s)
	}
	return &d
}

func diffIDs(l []report.DiffFinding) []string {
	var ids []string
	for _, f := range l {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestDiffCommand: reports replayed from the fixtures, diffed as a user
// would; the exit code follows the new findings only.
func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	healthy := fixtureReport(t, dir, "healthy")
	exited := fixtureReport(t, dir, "exited-containers")
	disk := fixtureReport(t, dir, "disk-full")
	down := fixtureReport(t, dir, "docker-down")

	r := ksd(t, "diff", "--format", "json", healthy, exited)
	r.wantCode(t, exitWarning)
	d := decodeDiff(t, r.stdout)
	if got := diffIDs(d.New); len(got) != 1 || got[0] != "docker.exited-containers" || d.Summary.NewWarning != 1 {
		t.Errorf("new %v, summary %+v", got, d.Summary)
	}

	// Resolved only: nothing new, exit 0.
	r = ksd(t, "diff", "--format", "json", exited, healthy)
	r.wantCode(t, exitOK)
	if d = decodeDiff(t, r.stdout); len(d.Resolved) != 1 || len(d.New) != 0 {
		t.Errorf("resolved %v new %v", diffIDs(d.Resolved), diffIDs(d.New))
	}

	// The same report twice: all unchanged, exit 0 although it is critical.
	r = ksd(t, "diff", disk, disk)
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, "0 new (0 critical, 0 warning), 0 resolved, 0 not judged again, 2 unchanged") {
		t.Errorf("text diff:\n%s", r.stdout)
	}

	// Docker went down: the daemon finding is new (critical); the exited
	// containers are not resolved, their check could not judge.
	r = ksd(t, "diff", "--format", "json", disk, down)
	r.wantCode(t, exitCritical)
	d = decodeDiff(t, r.stdout)
	if got := diffIDs(d.Unjudged); len(got) != 1 || got[0] != "docker.exited-containers" || d.Unjudged[0].CheckStatus != "error" {
		t.Errorf("unjudged %+v", d.Unjudged)
	}
	if len(d.Resolved) != 0 {
		t.Errorf("resolved %v: a check that could not judge resolves nothing", diffIDs(d.Resolved))
	}
	md := ksd(t, "diff", "--format", "markdown", disk, down)
	md.wantCode(t, exitCritical)
	for _, want := range []string{"# ksdoctor diff:", "## New", "`docker.daemon-unreachable`", "## Not judged again"} {
		if !strings.Contains(md.stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.stdout)
		}
	}
}

// TestDiffRefusesWhatIsNotAReport: a missing file, a snapshot, broken JSON
// and a report with a bad field exit 3, naming the file and the fault.
func TestDiffRefusesWhatIsNotAReport(t *testing.T) {
	dir := t.TempDir()
	good := fixtureReport(t, dir, "healthy")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	badSev := filepath.Join(dir, "badsev.json")
	os.WriteFile(badSev, []byte(strings.Replace(string(data), `"schemaVersion": 1`, `"schemaVersion": 2`, 1)), 0o600)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, data[:len(data)/2], 0o600)
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.json"), "no such file"},
		{"snapshot", filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json"), "is not a valid ksdoctor report"},
		{"broken", broken, "not JSON"},
		{"schemaVersion", badSev, "/schemaVersion: must be 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ksd(t, "diff", good, tt.path)
			r.wantCode(t, exitCannot)
			if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "hint:") {
				t.Errorf("stderr %q, want %q and a hint", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q on a refused input", r.stdout)
			}
		})
	}
	ksd(t, "diff", good).wantCode(t, exitCannot)
	ksd(t, "diff", "--format", "sarif", good, good).wantCode(t, exitCannot)
}

// TestSweepBaseline: --baseline marks the findings that the earlier
// report lacks, in JSON, text and Markdown; the exit code is the sweep's.
func TestSweepBaseline(t *testing.T) {
	dir := t.TempDir()
	healthy := fixtureReport(t, dir, "healthy")
	snap := filepath.Join("..", "..", "fixtures", "exited-containers", "snapshot.json")
	r := ksd(t, "sweep", "--format", "json", "--from", snap, "--baseline", healthy)
	r.wantCode(t, exitWarning)
	rep := decodeReport(t, []byte(r.stdout))
	if f, _ := rep.Finding("docker.exited-containers"); !f.New {
		t.Errorf("finding not marked new: %+v", f)
	}
	self := fixtureReport(t, dir, "exited-containers")
	r = ksd(t, "sweep", "--format", "json", "--from", snap, "--baseline", self)
	if f, _ := decodeReport(t, []byte(r.stdout)).Finding("docker.exited-containers"); f.New {
		t.Errorf("finding in the baseline marked new")
	}
	txt := ksd(t, "sweep", "--from", snap, "--baseline", healthy)
	if !strings.Contains(txt.stdout, "NEW ▲ WARNING") {
		t.Errorf("text lacks the NEW mark:\n%s", txt.stdout)
	}
	md := ksd(t, "sweep", "--format", "markdown", "--from", snap, "--baseline", healthy)
	if !strings.Contains(md.stdout, "| NEW ▲ WARNING |") {
		t.Errorf("markdown lacks the NEW mark:\n%s", md.stdout)
	}
	ksd(t, "sweep", "--from", snap, "--baseline", snap).wantCode(t, exitCannot)
}

// TestSweepSARIFAndJUnit: the machine formats from the CLI keep the
// sweep's exit code; -o stays the short form of --output.
func TestSweepSARIFAndJUnit(t *testing.T) {
	snap := filepath.Join("..", "..", "fixtures", "disk-full", "snapshot.json")
	r := ksd(t, "sweep", "--format", "sarif", "--from", snap)
	r.wantCode(t, exitCritical)
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("SARIF: %v\n%s", err, r.stdout)
	}
	found := false
	for _, res := range log.Runs[0].Results {
		found = found || (res.RuleID == "disk.docker-root-usage" && res.Level == "error")
	}
	if !found {
		t.Errorf("no error-level result for disk.docker-root-usage: %+v", log.Runs[0].Results)
	}
	out := filepath.Join(t.TempDir(), "junit.xml")
	r = ksd(t, "sweep", "--format", "junit", "-o", out, "--from", snap)
	r.wantCode(t, exitCritical)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `<testcase name="disk.docker-root-usage" classname="ksdoctor.disk"`) || !strings.Contains(string(data), "<failure ") {
		t.Errorf("JUnit report:\n%s", data)
	}
}
