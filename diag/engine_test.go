package diag

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func snapWith(sources map[Source]bool) *Snapshot {
	s := &Snapshot{SchemaVersion: SchemaVersion, Tool: Tool{Name: "ksdoctor"}, Sources: map[Source]*SourceStatus{}}
	for src, ok := range sources {
		st := &SourceStatus{Source: src, OK: ok}
		if !ok {
			st.Error = "boom"
		}
		s.Sources[src] = st
	}
	return s
}

func finding(sev Severity) func(*Pass) ([]Finding, error) {
	return func(*Pass) ([]Finding, error) {
		return []Finding{{Severity: sev, Title: "t", Summary: "s"}}, nil
	}
}

func resultByID(t *testing.T, r *Report, id string) CheckResult {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no result for check %s", id)
	return CheckResult{}
}

func TestRunStatuses(t *testing.T) {
	checks := []Check{
		{ID: "a.pass", Run: func(*Pass) ([]Finding, error) { return nil, nil }},
		{ID: "a.info", Run: finding(Info)},
		{ID: "a.warn", Run: finding(Warning)},
		{ID: "a.crit", Run: finding(Critical)},
		{ID: "a.error", Run: func(*Pass) ([]Finding, error) { return nil, errors.New("cannot judge") }},
		{ID: "a.panic", Run: func(*Pass) ([]Finding, error) { panic("bad check") }},
		{ID: "a.skip", Run: func(*Pass) ([]Finding, error) { return nil, Skip("not a %s node", "calico") }},
		{ID: "a.needs-failed", Needs: []Source{SourceDocker}, Run: finding(Critical)},
		{ID: "a.uses-failed", Uses: []Source{SourceDocker}, Run: finding(Warning)},
		{ID: "a.needs-absent", Needs: []Source{SourceCluster}, Run: finding(Critical)},
		{ID: "a.needs-empty", Needs: []Source{SourceNetwork}, Run: func(*Pass) ([]Finding, error) { return nil, nil }},
		{ID: "a.uses-empty", Uses: []Source{SourceNetwork}, Run: func(*Pass) ([]Finding, error) { return nil, nil }},
	}
	snap := snapWith(map[Source]bool{SourceDocker: false, SourceNetwork: true})
	snap.Sources[SourceCluster] = &SourceStatus{Source: SourceCluster, Error: "no kubeconfig found", Absent: true}
	r := Run(checks, snap, nil, RunOptions{})
	tests := []struct {
		id     string
		status Status
		detail string
	}{
		{"a.pass", StatusPass, ""},
		{"a.info", StatusPass, ""},
		{"a.warn", StatusFail, ""},
		{"a.crit", StatusFail, ""},
		{"a.error", StatusError, "cannot judge"},
		{"a.panic", StatusError, "check panicked: bad check"},
		{"a.skip", StatusSkipped, "not a calico node"},
		{"a.needs-failed", StatusError, "could not judge: source docker failed: boom"},
		{"a.uses-failed", StatusFail, ""},
		{"a.needs-absent", StatusSkipped, "source cluster: no kubeconfig found"},
		{"a.needs-empty", StatusError, "could not judge: source net says it worked but holds no facts"},
		{"a.uses-empty", StatusError, "could not judge: source net says it worked but holds no facts"},
	}
	for _, tt := range tests {
		got := resultByID(t, r, tt.id)
		if got.Status != tt.status {
			t.Errorf("%s: status got %s want %s", tt.id, got.Status, tt.status)
		}
		if detail := got.Error + got.Reason; detail != tt.detail && !(tt.id == "a.panic" && strings.HasPrefix(detail, tt.detail+" (at ") && strings.Contains(detail, "diag/engine_test.go:")) {
			t.Errorf("%s: detail got %q want %q", tt.id, detail, tt.detail)
		}
		if got.DurationMs < 0 {
			t.Errorf("%s: negative duration", tt.id)
		}
	}
	if got, want := r.Summary, (Summary{Critical: 1, Warning: 2, Info: 1, Errored: 5, Skipped: 2}); got != want {
		t.Errorf("summary got %+v want %+v", got, want)
	}
	// Most urgent first.
	if r.Findings[0].Severity != Critical || r.Findings[len(r.Findings)-1].Severity != Info {
		t.Errorf("findings not sorted by severity: %v", r.Findings)
	}
	for _, f := range r.Findings {
		if f.ID == "" || f.Check == "" || f.ID != f.Check {
			t.Errorf("finding ID/check not defaulted: %+v", f)
		}
	}
}

// TestRunNotGathered: a replayed snapshot that never gathered a source
// (recorded for other checks) skips the checks that need it.
func TestRunNotGathered(t *testing.T) {
	c := Check{ID: "a.needs-missing", Needs: []Source{SourceCluster}, Run: finding(Critical)}
	r := Run([]Check{c}, snapWith(nil), nil, RunOptions{})
	if got := resultByID(t, r, c.ID); got.Status != StatusSkipped || got.Reason != "source cluster was not gathered" {
		t.Errorf("got %s %q, want skipped: source cluster was not gathered", got.Status, got.Reason)
	}
	if r.Summary.Skipped != 1 || r.Summary.Errored != 0 {
		t.Errorf("summary got %+v", r.Summary)
	}
}

func TestRunOnCheckProgress(t *testing.T) {
	var seen []string
	checks := []Check{{ID: "a.one", Run: finding(Info)}, {ID: "a.two", Run: finding(Info)}}
	Run(checks, snapWith(nil), nil, RunOptions{OnCheck: func(r CheckResult) { seen = append(seen, r.ID) }})
	if !slices.Equal(seen, []string{"a.one", "a.two"}) {
		t.Errorf("progress got %v", seen)
	}
}

func TestLinkCauses(t *testing.T) {
	fs := []Finding{
		{ID: "net.masq", Check: "net.masq", CausedBy: []string{"docker.iptables-disabled", "absent.check"}},
		{ID: "docker.iptables-disabled", Check: "docker.iptables-disabled"},
		{ID: "k8s.node/n1", Check: "k8s.node", CausedBy: []string{"disk.usage"}},
		{ID: "disk.usage", Check: "disk.usage"},
	}
	Link(fs)
	Link(fs) // idempotent
	byID := map[string]Finding{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	if got := byID["net.masq"].CausedBy; !slices.Equal(got, []string{"docker.iptables-disabled"}) {
		t.Errorf("causedBy got %v", got)
	}
	if got := byID["docker.iptables-disabled"].Causes; !slices.Equal(got, []string{"net.masq"}) {
		t.Errorf("causes got %v", got)
	}
	if got := byID["disk.usage"].Causes; !slices.Equal(got, []string{"k8s.node/n1"}) {
		t.Errorf("causes got %v", got)
	}
}

func TestSelect(t *testing.T) {
	all := []Check{{ID: "a.x"}, {ID: "a.y"}, {ID: "a.z"}}
	got, err := Select(all, []string{"a.x", "a.z"}, []string{"a.z"})
	if err != nil || len(got) != 1 || got[0].ID != "a.x" {
		t.Fatalf("Select got %v, %v", got, err)
	}
	if _, err := Select(all, []string{"a.nope"}, nil); err == nil || !strings.Contains(err.Error(), "a.nope") {
		t.Errorf("unknown ID not reported: %v", err)
	}
}

func TestWantedSources(t *testing.T) {
	checks := []Check{
		{ID: "a.x", Needs: []Source{SourceDocker}, Wants: func(s *Snapshot, _ *Config) []Source { return []Source{SourceDockerDisk} }},
		{ID: "a.y", Uses: []Source{SourceDocker, SourceFilesystems}, Wants: func(*Snapshot, *Config) []Source { return nil }},
	}
	if got := SourcesFor(checks); !slices.Equal(got, []Source{SourceDocker, SourceFilesystems}) {
		t.Errorf("SourcesFor got %v", got)
	}
	if got := WantedSources(checks, snapWith(nil), DefaultConfig()); !slices.Equal(got, []Source{SourceDockerDisk}) {
		t.Errorf("WantedSources got %v", got)
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"1m30s"`)); err != nil || d.Duration != 90*time.Second {
		t.Fatalf("got %v %v", d, err)
	}
	for _, bad := range []string{`5`, `"soon"`, `"-1s"`} {
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
