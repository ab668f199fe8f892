package diag

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Check is one documented rule. It is a value, listed explicitly in
// checks.All; Run is a pure function of the snapshot and the configuration.
type Check struct {
	// ID is stable and lower-kebab, prefixed by its area: "docker.exited-containers".
	ID string
	// Title is a short noun phrase for lists.
	Title string
	// Doc explains what the check looks for, why it matters and how it is fixed.
	Doc string
	// Needs are sources that must have been gathered successfully; when one
	// failed the check is skipped with the reason.
	Needs []Source
	// Uses are sources gathered for the check that it can do without.
	Uses []Source
	// Wants, when set, names expensive sources worth gathering after seeing
	// the cheap ones (e.g. Docker's disk breakdown only when the disk fills).
	Wants func(s *Snapshot, cfg *Config) []Source
	// Expensive lists every source Wants may ask for, so that Needs, Uses
	// and Expensive together name every source the check reads.
	Expensive []Source
	// WantsEvidenceOnly says the sources Wants asks for only enrich the
	// evidence, not the remediation plans: a fix then skips them, so
	// preparing and verifying a fix costs no more than the fix needs.
	WantsEvidenceOnly bool
	// ClusterAreas are the parts of the cluster source the check reads
	// (ClusterAreaNodes, ClusterAreaFailedPods, …): a sweep lists only
	// the parts its checks name, so a fix of evicted pods lists Failed
	// pods, not every pod and Ingress. Nil with SourceCluster reads all.
	ClusterAreas []string
	// CausedBy lists the checks whose findings may cause this one's; a
	// finding links to one through Pass.CausedBy, and the engine fills the
	// reverse Causes links (Link).
	CausedBy []*Check
	// Run judges the snapshot, read through the Pass. It must not do I/O. An
	// error means the check could not judge (status error; findings returned
	// with it, such as "unknown" ones carrying the evidence, are kept); a
	// *SkipError means it did not apply.
	Run func(p *Pass) ([]Finding, error)
}

// Sources returns Needs followed by Uses.
func (c Check) Sources() []Source {
	out := make([]Source, 0, len(c.Needs)+len(c.Uses))
	out = append(out, c.Needs...)
	return append(out, c.Uses...)
}

// SkipError marks a check that does not apply to this node.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

// Skip returns an error that makes the engine report the check as skipped.
func Skip(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

// IsSkip reports whether err is a SkipError and returns its reason.
func IsSkip(err error) (string, bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason, true
	}
	return "", false
}

// Severity ranks a finding.
type Severity string

// Severities, from most to least urgent.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Rank orders severities: critical 3, warning 2, info 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Status is how a check ended.
type Status string

// Check statuses.
const (
	StatusPass    Status = "pass"
	StatusFail    Status = "fail"
	StatusError   Status = "error"
	StatusSkipped Status = "skipped"
)

// Finding is one problem (or, at info, one observation) a check reports.
type Finding struct {
	// ID is stable across sweeps of the same node state: the check ID, plus
	// "/subject" for checks that report per object.
	ID           string        `json:"id"`
	Check        string        `json:"check"`
	Severity     Severity      `json:"severity"`
	Title        string        `json:"title"`
	Summary      string        `json:"summary"`
	Explanation  string        `json:"explanation,omitempty"`
	Evidence     []Evidence    `json:"evidence,omitempty"`
	CausedBy     []string      `json:"causedBy,omitempty"`
	Causes       []string      `json:"causes,omitempty"`
	Remediations []Remediation `json:"remediations,omitempty"`
	// Suppressed is set when a configured suppression silences the
	// finding (see Suppress); it is then counted apart in the summary.
	Suppressed *Suppressed `json:"suppressed,omitempty"`
	// New is set by a sweep with --baseline when the finding's ID is not
	// in the baseline report.
	New bool `json:"new,omitempty"`
}

// Evidence is one labelled fact behind a finding: a value, a table, or both.
type Evidence struct {
	Label string `json:"label"`
	Value string `json:"value,omitempty"`
	Table *Table `json:"table,omitempty"`
}

// Table is tabular evidence.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Remediation finds a remediation of f by ID.
func (f Finding) Remediation(id string) (Remediation, bool) {
	for _, r := range f.Remediations {
		if r.ID == id {
			return r, true
		}
	}
	return Remediation{}, false
}

// CheckResult is how one check ended in a sweep.
type CheckResult struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Status     Status  `json:"status"`
	DurationMs float64 `json:"durationMs"`
	Error      string  `json:"error,omitempty"`
	Reason     string  `json:"reason,omitempty"` // why skipped
	Findings   int     `json:"findings"`
}

// CheckIDFromRemediation returns the check ID part of a remediation ID
// ("docker.exited-containers/remove" → "docker.exited-containers").
func CheckIDFromRemediation(id string) string {
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		return id[:i]
	}
	return id
}

func durationMs(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
