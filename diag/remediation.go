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

// InputSpec describes a value a remediation asks the user for.
type InputSpec struct {
	Name   string `json:"name"`   // key in Snapshot.Inputs, e.g. "to"
	Prompt string `json:"prompt"` // e.g. "New data-root directory"
}

// Plan is the ordered list of steps an executor applies.
type Plan struct {
	Steps []Step `json:"steps"`
	// Transactional plans stop at the first failed step and undo the steps
	// already done; others apply every step independently.
	Transactional bool `json:"transactional,omitempty"`
}

// StepKind names an action an executor knows how to apply.
type StepKind string

// Step kinds. Each kind uses one of the payload fields of Step.
const (
	// StepRemoveContainer removes one container, only if it is still not
	// running (Container).
	StepRemoveContainer StepKind = "docker.container.remove"
	// StepRemoveImage removes one image by ID, without force (Image).
	StepRemoveImage StepKind = "docker.image.remove"
	// StepPruneBuildCache prunes unused build cache.
	StepPruneBuildCache StepKind = "docker.buildcache.prune"
	// StepIPTablesRule adds one iptables rule unless it exists (IPTablesRule).
	StepIPTablesRule StepKind = "net.iptables.rule"
	// StepSysctlSet writes a value under /proc/sys now (Sysctl).
	StepSysctlSet StepKind = "net.sysctl.set"
	// StepSysctlPersist writes a sysctl.d file so the value survives a reboot (Sysctl).
	StepSysctlPersist StepKind = "net.sysctl.persist"

	// StepFileEdit replaces a file's content (File), refusing when the file changed since
	// the preview; a timestamped backup is kept beside it and the undo restores it.
	StepFileEdit StepKind = "file.edit"
	// StepServiceDaemonReload makes the service manager reread unit files.
	StepServiceDaemonReload StepKind = "service.daemon-reload"
	// StepServiceRestart restarts a service (Service).
	StepServiceRestart StepKind = "service.restart"
	// StepServiceStop and StepServiceStart stop and start a service (Service); the undo
	// of each does the opposite.
	StepServiceStop  StepKind = "service.stop"
	StepServiceStart StepKind = "service.start"
	// StepServiceRestartOnRollback does nothing when applied; when the plan rolls back, its
	// undo (run after the files are restored) reloads units and restarts the service.
	StepServiceRestartOnRollback StepKind = "service.restart-on-rollback"
	// StepServiceResetFailed clears a service's failed state and start-limit counter
	// (systemctl reset-failed), planned when the unit has used up its start limit.
	StepServiceResetFailed StepKind = "service.reset-failed"
	// StepDockerConfigValidate resolves dockerd's configuration as it now is on disk and
	// fails when dockerd would refuse to start with it.
	StepDockerConfigValidate StepKind = "docker.config.validate"
	// StepDockerWaitReady waits until the Docker API answers again.
	StepDockerWaitReady StepKind = "docker.wait-ready"
	// StepDataRootMigrate copies Docker's data-root to a new place and points dockerd at
	// it (Migration); the undo puts everything back.
	StepDataRootMigrate StepKind = "docker.data-root.migrate"
	// StepDeletePod deletes one pod with a UID precondition (Pod).
	StepDeletePod StepKind = "k8s.pod.delete"
	// StepRestartWorkload rolls a Deployment's pods as `kubectl rollout
	// restart` does (Workload).
	StepRestartWorkload StepKind = "k8s.workload.restart"
)

// Step is one action of a plan. Exactly one payload field matches Kind.
type Step struct {
	Kind StepKind `json:"kind"`
	// Description is the one-line human form of the step.
	Description string `json:"description"`

	Container *ContainerTarget `json:"container,omitempty"`
	Image     *ImageTarget     `json:"image,omitempty"`

	IPTablesRule *IPTablesRule   `json:"iptablesRule,omitempty"`
	Sysctl       *SysctlChange   `json:"sysctl,omitempty"`
	File         *FileEdit       `json:"file,omitempty"`
	Service      *ServiceTarget  `json:"service,omitempty"`
	Migration    *DataRootMove   `json:"migration,omitempty"`
	Pod          *PodTarget      `json:"pod,omitempty"`
	Workload     *WorkloadTarget `json:"workload,omitempty"`
}

// ContainerTarget names a container a step acts on. Removal never forces:
// a container that is running again is left alone.
type ContainerTarget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ImageTarget names an image a step acts on.
type ImageTarget struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
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
