package diag

import "time"

// Risk grades what a remediation can break.
type Risk string

// Risks. High-risk remediations (restarting docker, moving the data-root)
// need a stronger confirmation.
const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// Remediation is a fix offered by a finding: a plan, never code. Its ID is
// "<check-id>/<action>".
type Remediation struct {
	ID    string `json:"id"`
	Title string `json:"title"` // a verb phrase: "Remove 12 exited containers"
	Risk  Risk   `json:"risk"`
	// Preview says exactly what will be done, in the user's terms.
	Preview string `json:"preview"`
	Plan    Plan   `json:"plan"`
	// Input, when set, names a value the user must supply before the plan
	// can be made (the plan is then empty until Prepare is given it).
	Input *InputSpec `json:"input,omitempty"`
}

// Input keys: the names of the values a remediation may ask the user for
// (InputSpec.Name, the keys of Snapshot.Inputs).
const (
	// InputTo is the new data-root directory (disk.docker-root-usage/migrate).
	InputTo = "to"
	// InputSymlink, "true", leaves the old data-root path as a symlink to
	// the new one instead of changing data-root.
	InputSymlink = "symlink"
)

// InputSpec describes a value a remediation asks the user for.
type InputSpec struct {
	Name   string `json:"name"`   // key in Snapshot.Inputs, e.g. InputTo
	Prompt string `json:"prompt"` // e.g. "New data-root directory"
}

// StepOutcome is how one step went.
type StepOutcome string

// Step outcomes.
const (
	OutcomeDone    StepOutcome = "done"
	OutcomeSkipped StepOutcome = "skipped" // no longer applicable (e.g. container running again)
	OutcomeNoop    StepOutcome = "noop"    // already in the desired state
	OutcomeFailed  StepOutcome = "failed"
	// OutcomeUnknown is a step still in flight when the fix's deadline
	// passed: it may or may not have taken effect.
	OutcomeUnknown StepOutcome = "unknown"
	// OutcomeNotStarted is a step the fix never began (deadline passed, or
	// a transactional plan stopped at an earlier failure).
	OutcomeNotStarted StepOutcome = "not started"
)

// StepResult is the outcome of one step.
type StepResult struct {
	Step    Step        `json:"step"`
	Outcome StepOutcome `json:"outcome"`
	Detail  string      `json:"detail,omitempty"`
}

// ApplyResult is what applying a remediation did, and whether the check
// agreed afterwards.
type ApplyResult struct {
	RemediationID string       `json:"remediationId"`
	Title         string       `json:"title"`
	StartedAt     time.Time    `json:"startedAt"`
	DurationMs    float64      `json:"durationMs"`
	Steps         []StepResult `json:"steps"`
	Error         string       `json:"error,omitempty"`
	RolledBack    bool         `json:"rolledBack,omitempty"`
	// TimedOut says the fix's deadline passed before every step ended.
	TimedOut bool `json:"timedOut,omitempty"`
	// Verified is true when the check, run again on fresh facts, no longer
	// reports the finding the remediation came from.
	Verified bool `json:"verified"`
	// VerifyDetail says what the re-check found.
	VerifyDetail string `json:"verifyDetail,omitempty"`
}

// Count returns how many steps ended with outcome o.
func (r *ApplyResult) Count(o StepOutcome) int {
	n := 0
	for _, s := range r.Steps {
		if s.Outcome == o {
			n++
		}
	}
	return n
}
