package fleet

import (
	"sort"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Reasons a node has no report.
const (
	ReasonNoKubelet     = "no kubelet"
	ReasonUnschedulable = "unschedulable"
	ReasonImageMissing  = "image missing"
	ReasonFailed        = "failed"
	ReasonTimedOut      = "timed out"
	ReasonNotJSON       = "report not JSON"
	ReasonInvalid       = "report invalid"
	ReasonLogUnreadable = "log unreadable"
	ReasonNoPod         = "no pod"
	ReasonCreateFailed  = "job not created"
	ReasonNotFound      = "node not found"
	ReasonCanceled      = "canceled"
)

// Report is the merged report of one fleet sweep (docs/fleet.schema.json).
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Kind          string    `json:"kind"` // "fleet"
	Tool          diag.Tool `json:"tool"`
	SweepID       string    `json:"sweepId"`
	Namespace     string    `json:"namespace"`
	StartedAt     time.Time `json:"startedAt"`
	DurationMs    int64     `json:"durationMs"`
	// JobsCreatedMs is the time from start until every Job was created.
	JobsCreatedMs int64 `json:"jobsCreatedMs"`
	// Cluster is the cluster checks' report, run once by the command itself.
	Cluster *diag.Report `json:"cluster,omitempty"`
	// Checks groups the node findings (and checks that could not judge)
	// by check, across nodes, worst first.
	Checks  []CheckAcross `json:"checks"`
	Nodes   []Node        `json:"nodes"`
	Summary Summary       `json:"summary"`
}

// Node is one node's outcome: its report, or why there is none.
type Node struct {
	Name     string `json:"name"`
	Answered bool   `json:"answered"`
	// Reason and Detail say why a node has no report (Reason one of the
	// Reason* words).
	Reason     string       `json:"reason,omitempty"`
	Detail     string       `json:"detail,omitempty"`
	Job        string       `json:"job,omitempty"`
	Pod        string       `json:"pod,omitempty"`
	DurationMs int64        `json:"durationMs"`
	Report     *diag.Report `json:"report,omitempty"`
}

// CheckAcross is one check's findings across the nodes.
type CheckAcross struct {
	Check string `json:"check"`
	Title string `json:"title"`
	// Severity is the worst across nodes, or "error" for a check that could
	// not judge on those nodes.
	Severity string        `json:"severity"`
	Count    int           `json:"count"`
	Of       int           `json:"of"` // nodes that answered
	Nodes    []NodeFinding `json:"nodes"`
}

// NodeFinding is a check's outcome on one node.
type NodeFinding struct {
	Node     string `json:"node"`
	Severity string `json:"severity"`
	Finding  string `json:"finding,omitempty"`
	Summary  string `json:"summary"`
}

// Summary counts nodes and the exit code the command ends with.
type Summary struct {
	Nodes    int `json:"nodes"`
	Answered int `json:"answered"`
	Missing  int `json:"missing"`
	Critical int `json:"critical"` // nodes with a critical finding
	Warning  int `json:"warning"`  // nodes whose worst finding is a warning
	Errored  int `json:"errored"`  // nodes with a check that could not judge
	ExitCode int `json:"exitCode"`
}

const severityError = "error"

func severityRank(s string) int {
	switch s {
	case string(diag.Critical):
		return 4
	case severityError:
		return 3
	case string(diag.Warning):
		return 2
	case string(diag.Info):
		return 1
	}
	return 0
}

// Merge fills r.Checks and r.Summary from r.Nodes and r.Cluster.
func Merge(r *Report) {
	byCheck := map[string]*CheckAcross{}
	var answered int
	for _, n := range r.Nodes {
		if n.Answered && n.Report != nil {
			answered++
		}
	}
	add := func(check, title, sev string, nf NodeFinding) {
		c := byCheck[check]
		if c == nil {
			c = &CheckAcross{Check: check, Title: title, Of: answered}
			byCheck[check] = c
		}
		if severityRank(sev) > severityRank(c.Severity) {
			c.Severity = sev
		}
		if len(c.Nodes) == 0 || c.Nodes[len(c.Nodes)-1].Node != nf.Node {
			c.Count++
		}
		c.Nodes = append(c.Nodes, nf)
	}
	sum := Summary{Nodes: len(r.Nodes), Answered: answered, Missing: len(r.Nodes) - answered}
	for _, n := range r.Nodes {
		if !n.Answered || n.Report == nil {
			continue
		}
		titles := map[string]string{}
		for _, c := range n.Report.Checks {
			titles[c.ID] = c.Title
			if c.Status == diag.StatusError {
				add(c.ID, c.Title, severityError, NodeFinding{Node: n.Name, Severity: severityError, Summary: c.Error})
			}
		}
		for _, f := range n.Report.Findings {
			add(f.Check, titles[f.Check], string(f.Severity), NodeFinding{Node: n.Name, Severity: string(f.Severity), Finding: f.ID, Summary: f.Summary})
		}
		switch code := nodeExit(n.Report); code {
		case exitCritical:
			sum.Critical++
		case exitErrored:
			sum.Errored++
		case exitWarning:
			sum.Warning++
		}
	}
	r.Checks = r.Checks[:0]
	for _, c := range byCheck {
		r.Checks = append(r.Checks, *c)
	}
	sort.Slice(r.Checks, func(i, j int) bool {
		a, b := r.Checks[i], r.Checks[j]
		if ra, rb := severityRank(a.Severity), severityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Check < b.Check
	})
	if r.Checks == nil {
		r.Checks = []CheckAcross{}
	}
	sum.ExitCode = exitCode(r, sum)
	r.Summary = sum
}

// Exit codes, as the node sweep's (cmd/ksdoctor exitFor).
const (
	exitOK       = 0
	exitWarning  = 1
	exitCritical = 2
	exitCannot   = 3
	exitErrored  = 5
)

func nodeExit(r *diag.Report) int {
	switch {
	case r.Summary.Worst() == diag.Critical:
		return exitCritical
	case r.Summary.WithChecks(r.Checks).Errored > 0:
		return exitErrored
	case r.Summary.Worst() == diag.Warning:
		return exitWarning
	}
	return exitOK
}

// exitCode is the worst of the nodes' and the cluster's codes (2 > 5 > 1 >
// 0); 3 when no node answered. A node that did not answer could not be
// judged: it counts as 5.
func exitCode(r *Report, s Summary) int {
	if s.Answered == 0 {
		return exitCannot
	}
	codes := []int{}
	if r.Cluster != nil {
		codes = append(codes, nodeExit(r.Cluster))
	}
	for _, n := range r.Nodes {
		if n.Answered && n.Report != nil {
			codes = append(codes, nodeExit(n.Report))
		} else {
			codes = append(codes, exitErrored)
		}
	}
	rank := map[int]int{exitCritical: 3, exitErrored: 2, exitWarning: 1, exitOK: 0}
	worst := exitOK
	for _, c := range codes {
		if rank[c] > rank[worst] {
			worst = c
		}
	}
	return worst
}
