package diag

import (
	"strings"
	"testing"
	"time"
)

func suppressReport() *Report {
	rep := &Report{
		Host: HostFacts{Hostname: "node3"},
		Checks: []CheckResult{
			{ID: "docker.exited-containers", Status: StatusFail},
			{ID: "k8s.evicted-pods", Status: StatusFail},
		},
		Findings: []Finding{
			{ID: "docker.exited-containers", Check: "docker.exited-containers", Severity: Warning, Title: "t", Summary: "s"},
			{ID: "k8s.evicted-pods/ns-a", Check: "k8s.evicted-pods", Severity: Critical, Title: "t", Summary: "s"},
			{ID: "k8s.evicted-pods/ns-b", Check: "k8s.evicted-pods", Severity: Critical, Title: "t", Summary: "s"},
		},
	}
	rep.Summary = Summarize(rep.Findings).WithChecks(rep.Checks)
	return rep
}

func findingByID(t *testing.T, r *Report, id string) Finding {
	t.Helper()
	f, ok := r.Finding(id)
	if !ok {
		t.Fatalf("no finding %s; have %v", id, ids(r))
	}
	return f
}

func ids(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.ID)
	}
	return out
}

func TestSuppress(t *testing.T) {
	now := time.Date(2026, 11, 20, 3, 12, 0, 0, time.UTC)
	entries := []Suppression{
		{Check: "docker.exited-containers", Node: "node*", Reason: "CI agents", Until: "2026-11-20"}, // last day: still on
		{Finding: "k8s.evicted-pods/ns-?", Reason: "drained", Until: "2026-11-19"},                   // expired
		{Finding: "k8s.evicted-pods/ns-a", Reason: "known"},                                          // suppresses ns-a
		{Check: "net.typo", Reason: "typo"},                                                          // unused
		{Check: "docker.exited-containers", Node: "node9", Reason: "another node"},                   // not for this node
	}
	rep := suppressReport()
	Suppress(rep, entries, now)
	if s := findingByID(t, rep, "docker.exited-containers").Suppressed; s == nil || s.Entry != 1 || s.Reason != "CI agents" || s.Until != "2026-11-20" {
		t.Errorf("exited-containers suppressed = %+v, want entry 1", s)
	}
	if s := findingByID(t, rep, "k8s.evicted-pods/ns-a").Suppressed; s == nil || s.Entry != 3 {
		t.Errorf("ns-a suppressed = %+v, want entry 3 (entry 2 expired)", s)
	}
	if s := findingByID(t, rep, "k8s.evicted-pods/ns-b").Suppressed; s != nil {
		t.Errorf("ns-b suppressed by %+v, want not (its entry expired)", s)
	}
	exp := findingByID(t, rep, "ksdoctor.suppression-expired/2")
	if exp.Severity != Warning || exp.Check != SuppressionsCheck || !strings.Contains(exp.Summary, "drained") {
		t.Errorf("expired finding = %+v", exp)
	}
	if un := findingByID(t, rep, "ksdoctor.suppression-unused/4"); un.Severity != Info {
		t.Errorf("unused finding severity %s, want info", un.Severity)
	}
	for _, id := range []string{"ksdoctor.suppression-unused/5", "ksdoctor.suppression-unused/1", "ksdoctor.suppression-unused/3"} {
		if _, ok := rep.Finding(id); ok {
			t.Errorf("unexpected finding %s", id)
		}
	}
	want := Summary{Critical: 1, Warning: 1, Info: 1, Suppressed: 2}
	if rep.Summary != want {
		t.Errorf("summary %+v, want %+v", rep.Summary, want)
	}
	last := rep.Checks[len(rep.Checks)-1]
	if last.ID != SuppressionsCheck || last.Status != StatusFail || last.Findings != 2 {
		t.Errorf("suppressions check result %+v", last)
	}

	// The day after "until", entry 1 has expired too: judged at the
	// snapshot's time, never the wall clock.
	rep = suppressReport()
	Suppress(rep, entries, now.Add(24*time.Hour))
	if s := findingByID(t, rep, "docker.exited-containers").Suppressed; s != nil {
		t.Errorf("suppressed after until: %+v", s)
	}
	findingByID(t, rep, "ksdoctor.suppression-expired/1")

	// No entry for this node: the report is left as it was.
	rep = suppressReport()
	Suppress(rep, entries[4:], now)
	if len(rep.Checks) != 2 || len(rep.Findings) != 3 || rep.Summary.Suppressed != 0 {
		t.Errorf("entries for another node changed the report: %v", ids(rep))
	}
}

func TestParseConfigSuppressions(t *testing.T) {
	good := `
suppressions:
- check: docker.exited-containers
  node: node3
  reason: CI agents leave containers, cleaned nightly
  until: 2026-12-31
- finding: "k8s.evicted-pods/*"
  reason: drained on purpose
`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Suppressions) != 2 || c.Suppressions[0].Until != "2026-12-31" || c.Suppressions[1].Finding != "k8s.evicted-pods/*" {
		t.Fatalf("parsed %+v", c.Suppressions)
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"no reason", "suppressions:\n- check: a.b\n", "reason is mandatory"},
		{"blank reason", "suppressions:\n- check: a.b\n  reason: '  '\n", "reason is mandatory"},
		{"node only", "suppressions:\n- node: n1\n  reason: r\n", "name a check or a finding"},
		{"bad date", "suppressions:\n- check: a.b\n  reason: r\n  until: 31.12.2026\n", "YYYY-MM-DD"},
		{"bad glob", "suppressions:\n- finding: 'a.b/[x'\n  reason: r\n", "syntax error in pattern"},
		{"unknown key", "suppressions:\n- check: a.b\n  reson: r\n", "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
