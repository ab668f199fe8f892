package diag

import "time"

// Report is the result of one sweep: what every check said and the
// findings, in the shape documented by docs/report.schema.json.
type Report struct {
	SchemaVersion int            `json:"schemaVersion"`
	Tool          Tool           `json:"tool"`
	Host          HostFacts      `json:"host"`
	StartedAt     time.Time      `json:"startedAt"`
	DurationMs    int64          `json:"durationMs"`
	Checks        []CheckResult  `json:"checks"`
	Findings      []Finding      `json:"findings"`
	Summary       Summary        `json:"summary"`
	Sources       []SourceStatus `json:"sources"`
	// Applied lists remediations applied in this session (fix, TUI).
	Applied []ApplyResult `json:"applied,omitempty"`
}

// Summary counts findings per severity, and the checks that could not
// judge (errored) or did not apply (skipped).
type Summary struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	// Errored counts checks that could not judge: a source they need failed,
	// timed out or held nothing, or the check itself errored. A sweep with
	// errored checks never reads as healthy (exit code 5 unless a critical
	// finding makes it 2).
	Errored int `json:"errored"`
	// Skipped counts checks that did not apply to this node.
	Skipped int `json:"skipped"`
	// Suppressed counts findings a configured suppression silences; they
	// are not in Critical, Warning or Info and never raise the exit code.
	Suppressed int `json:"suppressed,omitempty"`
}

// WithChecks returns s with Errored and Skipped counted from cs.
func (s Summary) WithChecks(cs []CheckResult) Summary {
	s.Errored, s.Skipped = 0, 0
	for _, c := range cs {
		switch c.Status {
		case StatusError:
			s.Errored++
		case StatusSkipped:
			s.Skipped++
		}
	}
	return s
}

// Worst is the most urgent severity present, or "" when there is none.
func (s Summary) Worst() Severity {
	switch {
	case s.Critical > 0:
		return Critical
	case s.Warning > 0:
		return Warning
	case s.Info > 0:
		return Info
	}
	return ""
}

// Finding returns the finding with the given ID.
func (r *Report) Finding(id string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

// FindRemediation returns the first finding offering remediation id.
func (r *Report) FindRemediation(id string) (Finding, Remediation, bool) {
	for _, f := range r.Findings {
		if rem, ok := f.Remediation(id); ok {
			return f, rem, true
		}
	}
	return Finding{}, Remediation{}, false
}
