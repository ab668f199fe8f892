package tui

import (
	"context"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
)

// Engine is what the TUI needs from ksdoctor's core. *doctor.Doctor
// satisfies it; tests inject fakes that record what would run.
type Engine interface {
	// Sweep gathers facts and judges them, reporting progress as it goes.
	Sweep(ctx context.Context, p doctor.Progress) (*diag.Snapshot, *diag.Report)
	// Replay judges a recorded snapshot.
	Replay(snap *diag.Snapshot, p doctor.Progress) *diag.Report
	// Prepare takes a fresh look at the node and returns the remediation as
	// it stands now: the plan the preview shows is the plan Apply runs.
	Prepare(ctx context.Context, remediationID string, inputs map[string]string) (*doctor.Candidate, error)
	// Apply applies a prepared remediation, then re-checks (verify).
	Apply(ctx context.Context, cand *doctor.Candidate) *diag.ApplyResult
}

var _ Engine = (*doctor.Doctor)(nil)

// Options configure the TUI.
type Options struct {
	// Checks are the checks the engine runs, listed in the sweep view
	// before they finish.
	Checks []diag.Check
	// ReadOnly removes every remediation key.
	ReadOnly bool
	// From, when set, is a recorded snapshot to browse instead of sweeping
	// the node; fixes are then disabled. FromPath names it in the header.
	From     *diag.Snapshot
	FromPath string
	// ExportDir is where 'e' writes the report files ("" is the current
	// directory).
	ExportDir string
	// Now is the clock used for elapsed times and export file names
	// (default time.Now).
	Now func() time.Time
}

// fixesDisabled says why remediation keys are off, or "" when they are on.
func (o Options) fixesDisabled() string {
	switch {
	case o.From != nil:
		return "fixes disabled: a recording, not the live node"
	case o.ReadOnly:
		return "read-only: remediation keys disabled"
	}
	return ""
}
