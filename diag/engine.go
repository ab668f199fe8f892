package diag

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// RunOptions tunes Run.
type RunOptions struct {
	// OnCheck, when set, is called after each check ends (for progress UIs).
	OnCheck func(CheckResult)
}

// Run judges snap with every check and builds the report. A check that
// errors or panics is reported with status error; the others still run.
func Run(checks []Check, snap *Snapshot, cfg *Config, opts RunOptions) *Report {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	start := time.Now()
	rep := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          snap.Tool,
		StartedAt:     snap.StartedAt,
		Findings:      []Finding{},
	}
	if snap.Host != nil {
		rep.Host = *snap.Host
	}
	for _, c := range checks {
		res, fs := runOne(c, snap, cfg)
		rep.Checks = append(rep.Checks, res)
		rep.Findings = append(rep.Findings, fs...)
		if opts.OnCheck != nil {
			opts.OnCheck(res)
		}
	}
	Link(rep.Findings)
	SortFindings(rep.Findings)
	rep.Sources = sourcesOf(snap)
	rep.Summary = Summarize(rep.Findings).WithChecks(rep.Checks)
	gather := snap.FinishedAt.Sub(snap.StartedAt)
	if gather < 0 {
		gather = 0
	}
	total := gather + time.Since(start)
	if total < gather {
		// A recorded snapshot's times can be centuries apart: Sub
		// saturates, and the sum must not wrap to a negative duration.
		total = gather
	}
	rep.DurationMs = total.Milliseconds()
	return rep
}

func runOne(c Check, snap *Snapshot, cfg *Config) (res CheckResult, findings []Finding) {
	res = CheckResult{ID: c.ID, Title: c.Title}
	start := time.Now()
	defer func() {
		res.DurationMs = durationMs(time.Since(start))
		if p := recover(); p != nil {
			res.Status = StatusError
			res.Error = fmt.Sprintf("check panicked: %v (at %s)", p, panicSite())
			findings = nil
		}
		res.Findings = len(findings)
	}()
	if status, why := judgeable(c, snap); status != "" {
		res.Status = status
		if status == StatusError {
			res.Error = why
		} else {
			res.Reason = why
		}
		return res, nil
	}
	fs, err := c.judge(NewPass(&c, snap, cfg))
	if err != nil {
		if reason, ok := IsSkip(err); ok {
			res.Status = StatusSkipped
			res.Reason = reason
			return res, nil
		}
		// Findings returned with the error are kept (e.g. "unknown"
		// findings that carry the evidence of what could not be judged).
		res.Status = StatusError
		res.Error = err.Error()
	} else {
		res.Status = StatusPass
	}
	for i := range fs {
		if fs[i].Severity.Rank() >= Warning.Rank() && res.Status == StatusPass {
			res.Status = StatusFail
		}
	}
	return res, fs
}

// judgeable says whether the snapshot lets c judge: "" when it does, else
// the status (error or skipped) and why. A needed source that failed, timed
// out or was over a limit makes the check error: it could not judge. Only
// a source whose subject is absent from the node (no kubeconfig at all) or
// that a replayed snapshot never gathered makes it skipped. A source that
// says it worked but holds no facts (a damaged snapshot) is an error for
// every check that reads it, needed or used.
func judgeable(c Check, snap *Snapshot) (Status, string) {
	for _, src := range c.Sources() {
		if st := snap.Sources[src]; st != nil && st.OK && !snap.holds(src) {
			return StatusError, fmt.Sprintf("could not judge: source %s says it worked but holds no facts", src)
		}
	}
	for _, src := range c.Needs {
		st := snap.Sources[src]
		switch {
		case st == nil:
			return StatusSkipped, fmt.Sprintf("source %s was not gathered", src)
		case st.OK:
			continue
		case st.Absent:
			return StatusSkipped, fmt.Sprintf("source %s: %s", src, st.Error)
		default:
			return StatusError, fmt.Sprintf("could not judge: source %s failed: %s", src, st.Error)
		}
	}
	return "", ""
}

// Link keeps only the CausedBy references that name a finding (or a check
// with findings) present in fs, and fills the reverse Causes links.
func Link(fs []Finding) {
	byID := map[string]int{}
	byCheck := map[string][]int{}
	for i, f := range fs {
		byID[f.ID] = i
		byCheck[f.Check] = append(byCheck[f.Check], i)
	}
	for i := range fs {
		fs[i].Causes = nil
	}
	for i := range fs {
		var kept []string
		for _, ref := range fs[i].CausedBy {
			targets := byCheck[ref]
			if j, ok := byID[ref]; ok {
				targets = []int{j}
			}
			for _, j := range targets {
				if j == i {
					continue
				}
				kept = append(kept, fs[j].ID)
				if !slices.Contains(fs[j].Causes, fs[i].ID) {
					fs[j].Causes = append(fs[j].Causes, fs[i].ID)
				}
			}
		}
		slices.Sort(kept)
		fs[i].CausedBy = slices.Compact(kept)
	}
}

// SortFindings orders findings by severity (most urgent first), then ID.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if a, b := fs[i].Severity.Rank(), fs[j].Severity.Rank(); a != b {
			return a > b
		}
		return fs[i].ID < fs[j].ID
	})
}

// Summarize counts findings per severity, suppressed findings apart.
func Summarize(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		if f.Suppressed != nil {
			s.Suppressed++
			continue
		}
		switch f.Severity {
		case Critical:
			s.Critical++
		case Warning:
			s.Warning++
		case Info:
			s.Info++
		}
	}
	return s
}

func sourcesOf(snap *Snapshot) []SourceStatus {
	out := make([]SourceStatus, 0, len(snap.Sources))
	for _, st := range snap.Sources {
		if st != nil {
			out = append(out, *st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Select filters checks by ID lists: include (empty means all) and skip.
// Unknown IDs are an error so a typo does not silently sweep nothing.
func Select(all []Check, include, skip []string) ([]Check, error) {
	known := map[string]bool{}
	for _, c := range all {
		known[c.ID] = true
	}
	var unknown []string
	for _, id := range append(slices.Clone(include), skip...) {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown check %s", strings.Join(unknown, ", "))
	}
	var out []Check
	for _, c := range all {
		if len(include) > 0 && !slices.Contains(include, c.ID) {
			continue
		}
		if slices.Contains(skip, c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// SourcesFor is the set of cheap sources the checks need or use.
func SourcesFor(checks []Check) []Source {
	var out []Source
	for _, c := range checks {
		for _, s := range c.Sources() {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// ClusterAreasFor returns the parts of the cluster the checks read, in a
// stable order; nil means every part (a check that reads the cluster
// names no part, or no check reads the cluster).
func ClusterAreasFor(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !slices.Contains(c.Sources(), SourceCluster) {
			continue
		}
		if len(c.ClusterAreas) == 0 {
			return nil
		}
		for _, a := range c.ClusterAreas {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// WantedSources asks every check with a Wants function which expensive
// sources are worth gathering given what snap already holds.
func WantedSources(checks []Check, snap *Snapshot, cfg *Config) []Source {
	var out []Source
	for _, c := range checks {
		if c.Wants == nil {
			continue
		}
		for _, s := range c.Wants(snap, cfg) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// panicSite names the function, file and line that panicked, read from the
// stack of a deferred recover: the first frame below the runtime's panic
// frames. It is one line, the same from run to run, for the report.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	inPanic := false
	for {
		f, more := frames.Next()
		isRuntime := strings.HasPrefix(f.Function, "runtime.")
		if isRuntime {
			inPanic = true
		} else if inPanic {
			return fmt.Sprintf("%s, %s:%d", f.Function, filepath.Join(filepath.Base(filepath.Dir(f.File)), filepath.Base(f.File)), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}
