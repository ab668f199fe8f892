package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// judgeSnap makes a snapshot whose listed sources worked.
func judgeSnap(ok ...diag.Source) *diag.Snapshot {
	s := &diag.Snapshot{SchemaVersion: diag.SchemaVersion, Tool: diag.Tool{Name: "ksdoctor"},
		StartedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Sources: map[diag.Source]*diag.SourceStatus{}}
	for _, src := range ok {
		s.Sources[src] = &diag.SourceStatus{Source: src, OK: true}
	}
	return s
}

// TestMissingDataNeverPasses: where the facts a check needs are missing or
// unreadable, the check errors (could not judge) with the reason; only what
// is absent from the node skips it.
func TestMissingDataNeverPasses(t *testing.T) {
	tests := []struct {
		name   string
		check  diag.Check
		snap   func() *diag.Snapshot
		status diag.Status
		why    string
	}{
		{"data-root not measurable", DiskDockerRootUsage, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceFilesystems)
			s.Filesystems = []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", Error: "statfs /var/lib/docker: permission denied"}}
			return s
		}, diag.StatusError, "permission denied"},
		{"data-root absent", DiskDockerRootUsage, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceFilesystems)
			s.Filesystems = []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", Error: "resolve /var/lib/docker: no such file or directory"}}
			return s
		}, diag.StatusSkipped, "no Docker data-root"},
		{"data-root entry missing", DiskDockerRootUsage, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceFilesystems)
			s.Filesystems = []diag.Filesystem{{Purpose: "root", Path: "/"}}
			return s
		}, diag.StatusError, "do not include the Docker data-root"},
		{"ip_forward unreadable", NetIPForwardDisabled, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceNetwork)
			s.Network = &diag.NetFacts{}
			return s
		}, diag.StatusError, "ip_forward was not readable"},
		{"iptables-save exit 4", NetIPTablesBackendMismatch, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceNetwork)
			s.Network = &diag.NetFacts{Errors: []string{"read the iptables tables: iptables-save : exit status 4: Permission denied (you must be root)"}}
			return s
		}, diag.StatusError, "exit status 4"},
		{"iptables-save exit 4, forward policy", NetForwardPolicyDrop, func() *diag.Snapshot {
			s := judgeSnap(diag.SourceNetwork)
			s.Network = &diag.NetFacts{Errors: []string{"read the iptables tables: iptables-save : exit status 4"}}
			return s
		}, diag.StatusError, "exit status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := diag.Run([]diag.Check{tt.check}, tt.snap(), nil, diag.RunOptions{})
			got := rep.Checks[0]
			if got.Status != tt.status || !strings.Contains(got.Error+got.Reason, tt.why) {
				t.Errorf("%s: %s %q, want %s: …%s…", tt.check.ID, got.Status, got.Error+got.Reason, tt.status, tt.why)
			}
			if tt.status == diag.StatusError && rep.Summary.Errored != 1 {
				t.Errorf("summary %+v", rep.Summary)
			}
		})
	}
}
