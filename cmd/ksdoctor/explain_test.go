package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/load"
)

func TestExplainEveryCheck(t *testing.T) {
	for _, c := range checks.All() {
		r := inproc(t, "explain", c.ID)
		if r.code != 0 || !strings.HasPrefix(r.stdout, c.ID+": "+c.Title) || !strings.Contains(r.stdout, "Reads:") {
			t.Errorf("explain %s: code %d\n%s%s", c.ID, r.code, r.stdout, r.stderr)
			continue
		}
		for _, s := range c.Sources() {
			if !strings.Contains(r.stdout, "  "+string(s)+" ") {
				t.Errorf("explain %s does not name source %s", c.ID, s)
			}
		}
		for _, rem := range remediationsOf(c.ID) {
			if !strings.Contains(r.stdout, rem.ID) || !strings.Contains(r.stdout, "risk "+string(rem.Risk)) {
				t.Errorf("explain %s does not name %s at risk %s", c.ID, rem.ID, rem.Risk)
			}
		}
	}
	// A remediation or finding ID explains its check.
	r := inproc(t, "explain", "docker.exited-containers/remove")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "docker.exited-containers: ") || !strings.Contains(r.stdout, "risk low") {
		t.Errorf("explain a remediation ID: %d\n%s", r.code, r.stdout)
	}
	r = inproc(t, "explain", "docker.exited-container")
	if r.code != exitCannot || !strings.Contains(r.stderr, "ksdoctor: hint: nearest check IDs: docker.exited-containers,") {
		t.Errorf("unknown ID: code %d\n%s", r.code, r.stderr)
	}
}

// TestRemediationCatalog holds the catalog to the checks: every
// remediation a fixture's replay offers is in it at the same risk, and
// every entry belongs to a registered check.
func TestRemediationCatalog(t *testing.T) {
	for _, r := range remCatalog {
		if _, ok := checks.ByID(diag.CheckIDFromRemediation(r.ID)); !ok {
			t.Errorf("catalog entry %s names no check", r.ID)
		}
	}
	paths, err := filepath.Glob("../../fixtures/*/snapshot.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("fixtures: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		snap, err := load.Snapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		d := &doctor.Doctor{Checks: checks.All(), Config: diag.DefaultConfig()}
		for _, f := range d.Replay(snap, doctor.Progress{}).Findings {
			for _, rem := range f.Remediations {
				seen[rem.ID] = true
				i := indexRem(rem.ID)
				if i < 0 || remCatalog[i].Risk != rem.Risk {
					t.Errorf("%s: remediation %s (risk %s) is not in the catalog at that risk", p, rem.ID, rem.Risk)
				}
			}
		}
	}
	for _, r := range remCatalog {
		if !seen[r.ID] {
			t.Logf("no fixture offers %s: its risk is checked by reading the check only", r.ID)
		}
	}
}

func indexRem(id string) int {
	for i, r := range remCatalog {
		if r.ID == id {
			return i
		}
	}
	return -1
}
