// Package doctor ties ksdoctor together for its front ends (CLI and TUI):
// gather a snapshot for the selected checks, judge it, and apply a
// remediation then verify it by running its check again on fresh facts.
package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
)

// Doctor holds what a sweep or a fix needs. All fields are set by the caller.
type Doctor struct {
	Tool     diag.Tool
	Checks   []diag.Check // the selected checks
	Config   *diag.Config
	Gatherer *gather.Gatherer
	Executor *act.Executor
}

// Progress receives sweep events; any field may be nil.
type Progress struct {
	Source func(diag.SourceStatus)
	Check  func(diag.CheckResult)
}

// Sweep gathers what the checks need and judges it.
func (d *Doctor) Sweep(ctx context.Context, p Progress) (*diag.Snapshot, *diag.Report) {
	snap := d.Gatherer.Collect(ctx, d.Tool, d.Checks, d.Config, p.Source)
	return snap, d.Replay(snap, p)
}

// Replay judges a recorded snapshot.
// The configuration's suppressions are applied at the snapshot's time.
func (d *Doctor) Replay(snap *diag.Snapshot, p Progress) *diag.Report {
	rep := diag.Run(d.Checks, snap, d.Config, diag.RunOptions{OnCheck: p.Check})
	if d.Config != nil {
		diag.Suppress(rep, d.Config.Suppressions, snap.Now())
	}
	return rep
}

// Candidate is a remediation found by Prepare, with what it came from.
type Candidate struct {
	Check       diag.Check
	Finding     diag.Finding
	Remediation diag.Remediation
	Snapshot    *diag.Snapshot
}

// Prepare sweeps only the check that offers remediation id and returns the
// remediation as it stands now. It fails when the check does not exist or
// the node no longer needs the remediation. inputs carries values the
// remediation asked for (Remediation.Input), or nil.
func (d *Doctor) Prepare(ctx context.Context, id string, inputs map[string]string) (*Candidate, error) {
	checkID := diag.CheckIDFromRemediation(id)
	c, ok := checks.ByID(checkID)
	if !ok {
		return nil, fmt.Errorf("no check %q offers remediation %q", checkID, id)
	}
	if c.WantsEvidenceOnly {
		// A fix gathers only what its plan needs (and the re-check reuses c).
		c.Wants = nil
	}
	snap := d.Gatherer.CollectWithInputs(ctx, d.Tool, []diag.Check{c}, d.Config, inputs, nil)
	rep := diag.Run([]diag.Check{c}, snap, d.Config, diag.RunOptions{})
	if len(rep.Checks) == 1 && rep.Checks[0].Status == diag.StatusSkipped {
		return nil, fmt.Errorf("check %s was skipped: %s", checkID, rep.Checks[0].Reason)
	}
	if len(rep.Checks) == 1 && rep.Checks[0].Status == diag.StatusError {
		return nil, fmt.Errorf("check %s failed: %s", checkID, rep.Checks[0].Error)
	}
	f, rem, ok := rep.FindRemediation(id)
	if !ok {
		return nil, &NotNeededError{ID: id}
	}
	return &Candidate{Check: c, Finding: f, Remediation: rem, Snapshot: snap}, nil
}

// NotNeededError says the node does not need a remediation now.
type NotNeededError struct{ ID string }

func (e *NotNeededError) Error() string {
	return fmt.Sprintf("remediation %s is not needed now: its check finds nothing to fix", e.ID)
}

// Apply applies the candidate's plan, then gathers fresh facts for its check
// and runs it again: the result is verified when the check no longer offers
// this remediation for the same finding.
func (d *Doctor) Apply(ctx context.Context, cand *Candidate) (res *diag.ApplyResult) {
	res = d.Executor.Apply(ctx, cand.Remediation)
	defer func() {
		// Every applied remediation goes to the journal, whatever its outcome.
		if err := d.Executor.Record(act.NewJournalRecord(cand.Finding.ID, cand.Remediation, res)); err != nil {
			res.VerifyDetail += "; not journaled: " + err.Error()
		}
	}()
	if res.TimedOut {
		res.VerifyDetail = "not re-checked: the fix timed out"
		return res
	}
	if res.Error != "" && res.Count(diag.OutcomeDone) == 0 {
		res.VerifyDetail = "not re-checked: nothing was applied"
		return res
	}
	vstart := time.Now()
	snap := d.Gatherer.CollectWithInputs(ctx, d.Tool, []diag.Check{cand.Check}, d.Config, cand.Snapshot.Inputs, nil)
	rep := diag.Run([]diag.Check{cand.Check}, snap, d.Config, diag.RunOptions{})
	res.DurationMs += float64(time.Since(vstart).Microseconds()) / 1000
	res.Verified, res.VerifyDetail = Verify(rep, cand)
	return res
}

// Verify judges a re-check report against the candidate that was applied.
func Verify(rep *diag.Report, cand *Candidate) (bool, string) {
	if len(rep.Checks) == 1 {
		switch rep.Checks[0].Status {
		case diag.StatusError:
			return false, "re-check failed: " + rep.Checks[0].Error
		case diag.StatusSkipped:
			return false, "re-check skipped: " + rep.Checks[0].Reason
		}
	}
	f, ok := rep.Finding(cand.Finding.ID)
	if !ok {
		return true, "re-check passed: the finding is resolved"
	}
	if _, still := f.Remediation(cand.Remediation.ID); still {
		return false, "re-check still finds: " + f.Summary
	}
	return true, fmt.Sprintf("re-check: nothing left for this remediation; the finding remains at %s: %s", f.Severity, f.Title)
}
