package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
)

// damaged reads a recorded fixture snapshot, lets edit change it, and writes
// it where the binary can replay it.
func damaged(t *testing.T, fixture string, edit func(*diag.Snapshot)) string {
	t.Helper()
	snap, err := load.Snapshot(filepath.Join("..", "..", "fixtures", fixture, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit(snap)
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "snap.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// okButEmpty marks src as gathered without giving it facts: a snapshot
// whose sources say ok but hold nothing.
func okButEmpty(src diag.Source) func(*diag.Snapshot) {
	return func(s *diag.Snapshot) {
		s.Sources[src] = &diag.SourceStatus{Source: src, OK: true}
	}
}

// TestExitCodeErrored: a sweep where a check could not judge exits 5,
// ordered 2 (critical) > 5 > 1 (warning) > 0, and every format counts the
// checks that errored and were skipped.
func TestExitCodeErrored(t *testing.T) {
	netChecks := "net.ip-forward-disabled,net.forward-policy-drop,net.docker0-masquerade-missing"
	tests := []struct {
		name, fixture, checks string
		edit                  func(*diag.Snapshot)
		code, errored         int
	}{
		{"healthy", "healthy", "", func(*diag.Snapshot) {}, exitOK, 0},
		{"healthy, network ok but empty", "healthy", "docker.exited-containers," + netChecks, okButEmpty(diag.SourceNetwork), exitErrored, 3},
		{"healthy, docker ok but empty", "healthy", "", func(s *diag.Snapshot) { s.Docker = nil }, exitErrored, 0},
		{"healthy, network timed out", "healthy", netChecks, func(s *diag.Snapshot) {
			s.Sources[diag.SourceNetwork] = &diag.SourceStatus{Source: diag.SourceNetwork, Error: "timed out after 5s: context deadline exceeded"}
		}, exitErrored, 3},
		{"warning only", "exited-containers", "docker.exited-containers", func(*diag.Snapshot) {}, exitWarning, 0},
		{"warning and errored", "exited-containers", "docker.exited-containers," + netChecks, okButEmpty(diag.SourceNetwork), exitErrored, 3},
		{"critical and errored", "docker-down", "", func(*diag.Snapshot) {}, exitCritical, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := damaged(t, tt.fixture, tt.edit)
			args := []string{"sweep", "--from", p}
			if tt.checks != "" {
				args = append(args, "--checks", tt.checks)
			}
			r := ksd(t, append(args, "--format", "json")...)
			r.wantCode(t, tt.code)
			rep := decodeReport(t, []byte(r.stdout))
			if tt.errored > 0 && rep.Summary.Errored != tt.errored {
				t.Errorf("summary.errored = %d, want %d", rep.Summary.Errored, tt.errored)
			}
			if tt.code == exitErrored && rep.Summary.Errored == 0 {
				t.Errorf("exit 5 with summary.errored 0")
			}
			text := ksd(t, args...)
			text.wantCode(t, tt.code)
			want := []string{"checks could not judge"}
			if tt.code == exitErrored {
				want = append(want, "could not judge")
				if strings.Contains(text.stdout, "No findings.") {
					t.Errorf("text says No findings. with checks that could not judge:\n%s", text.stdout)
				}
			}
			for _, w := range want {
				if !strings.Contains(text.stdout, w) {
					t.Errorf("text report lacks %q:\n%s", w, text.stdout)
				}
			}
			md := ksd(t, append(args, "--format", "markdown")...)
			md.wantCode(t, tt.code)
			if !strings.Contains(md.stdout, "could not judge**") || !strings.Contains(md.stdout, " skipped, of ") {
				t.Errorf("markdown report lacks the check counts:\n%s", md.stdout)
			}
		})
	}
}

// TestHelpListsExitCodes: --help documents every exit code, 5 included.
func TestHelpListsExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"sweep", "--help"}} {
		r := ksd(t, args...)
		r.wantCode(t, 0)
		for _, w := range []string{"  5  a check could not judge", "order 2, 5, 1, 0"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: help lacks %q:\n%s", args, w, r.stdout)
			}
		}
	}
}
