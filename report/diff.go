package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
)

// Diff is what changed between two reports of a node, finding by finding
// (by finding ID, which is stable across sweeps of the same state).
type Diff struct {
	Before DiffSide `json:"before"`
	After  DiffSide `json:"after"`
	// New findings are in the later report only.
	New []DiffFinding `json:"new"`
	// Resolved findings were in the earlier report, and the check that
	// reported them judged again (pass or fail) without them.
	Resolved []DiffFinding `json:"resolved"`
	// Unjudged findings were in the earlier report and are not in the
	// later one because their check did not judge there (error, skipped
	// or not run): they are not known to be resolved.
	Unjudged []DiffFinding `json:"unjudged"`
	// Unchanged findings are in both (PreviousSeverity set when the
	// severity changed).
	Unchanged []DiffFinding `json:"unchanged"`
	Summary   DiffSummary   `json:"summary"`
}

// DiffSide names one report of a diff.
type DiffSide struct {
	Hostname  string    `json:"hostname"`
	StartedAt time.Time `json:"startedAt"`
}

// DiffFinding is one finding in a diff: as the later report has it (the
// earlier one for resolved and unjudged findings).
type DiffFinding struct {
	ID               string           `json:"id"`
	Check            string           `json:"check"`
	Severity         diag.Severity    `json:"severity"`
	PreviousSeverity diag.Severity    `json:"previousSeverity,omitempty"`
	Title            string           `json:"title"`
	Summary          string           `json:"summary"`
	Suppressed       *diag.Suppressed `json:"suppressed,omitempty"`
	// CheckStatus is the later report's status of the finding's check, for
	// unjudged findings ("" when the check was not run).
	CheckStatus diag.Status `json:"checkStatus,omitempty"`
}

// DiffSummary counts a diff. NewCritical and NewWarning leave out
// suppressed findings: they decide the exit code.
type DiffSummary struct {
	New         int `json:"new"`
	NewCritical int `json:"newCritical"`
	NewWarning  int `json:"newWarning"`
	Resolved    int `json:"resolved"`
	Unjudged    int `json:"unjudged"`
	Unchanged   int `json:"unchanged"`
}

func diffFinding(f diag.Finding) DiffFinding {
	return DiffFinding{ID: f.ID, Check: f.Check, Severity: f.Severity, Title: f.Title, Summary: f.Summary, Suppressed: f.Suppressed}
}

// Compare lists what changed from before to after.
func Compare(before, after *diag.Report) *Diff {
	d := &Diff{
		Before:   DiffSide{Hostname: before.Host.Hostname, StartedAt: before.StartedAt},
		After:    DiffSide{Hostname: after.Host.Hostname, StartedAt: after.StartedAt},
		New:      []DiffFinding{},
		Resolved: []DiffFinding{}, Unjudged: []DiffFinding{}, Unchanged: []DiffFinding{},
	}
	old := map[string]diag.Finding{}
	for _, f := range before.Findings {
		old[f.ID] = f
	}
	now := map[string]bool{}
	for _, f := range after.Findings {
		now[f.ID] = true
		df := diffFinding(f)
		prev, ok := old[f.ID]
		if !ok {
			d.New = append(d.New, df)
			if f.Suppressed == nil {
				switch f.Severity {
				case diag.Critical:
					d.Summary.NewCritical++
				case diag.Warning:
					d.Summary.NewWarning++
				}
			}
			continue
		}
		if prev.Severity != f.Severity {
			df.PreviousSeverity = prev.Severity
		}
		d.Unchanged = append(d.Unchanged, df)
	}
	status := map[string]diag.Status{}
	for _, c := range after.Checks {
		status[c.ID] = c.Status
	}
	for _, f := range before.Findings {
		if now[f.ID] {
			continue
		}
		df := diffFinding(f)
		switch st := status[f.Check]; st {
		case diag.StatusPass, diag.StatusFail:
			d.Resolved = append(d.Resolved, df)
		default:
			df.CheckStatus = st
			d.Unjudged = append(d.Unjudged, df)
		}
	}
	for _, l := range [][]DiffFinding{d.New, d.Resolved, d.Unjudged, d.Unchanged} {
		sortDiff(l)
	}
	d.Summary.New, d.Summary.Resolved = len(d.New), len(d.Resolved)
	d.Summary.Unjudged, d.Summary.Unchanged = len(d.Unjudged), len(d.Unchanged)
	return d
}

func sortDiff(l []DiffFinding) {
	slices.SortFunc(l, func(a, b DiffFinding) int {
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return rb - ra
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// MarkNew sets New on every finding of r whose ID is not in baseline.
func MarkNew(r, baseline *diag.Report) {
	seen := map[string]bool{}
	for _, f := range baseline.Findings {
		seen[f.ID] = true
	}
	for i := range r.Findings {
		r.Findings[i].New = !seen[r.Findings[i].ID]
	}
}

// WriteDiff renders d in format f (text, markdown or json). Strings are
// masked and, outside JSON, escaped as in reports.
func WriteDiff(w io.Writer, d *Diff, f Format) error {
	out := redactDiff(d, f != FormatJSON)
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write json diff: %w", err)
		}
		return nil
	case FormatMarkdown:
		return writeDiffMarkdown(w, out)
	case FormatText:
		return writeDiffText(w, out)
	}
	return fmt.Errorf("format %q is not available for a diff (want text, json or markdown)", f)
}

func redactDiff(d *Diff, escape bool) *Diff {
	clean := func(s string) string {
		if escape {
			return redact.Text(s)
		}
		return redact.String(s)
	}
	out := *d
	out.Before.Hostname, out.After.Hostname = clean(d.Before.Hostname), clean(d.After.Hostname)
	lists := []*[]DiffFinding{&out.New, &out.Resolved, &out.Unjudged, &out.Unchanged}
	for _, l := range lists {
		cp := slices.Clone(*l)
		for i := range cp {
			cp[i].ID, cp[i].Title, cp[i].Summary = clean(cp[i].ID), clean(cp[i].Title), clean(cp[i].Summary)
			if s := cp[i].Suppressed; s != nil {
				c := *s
				c.Reason = clean(c.Reason)
				cp[i].Suppressed = &c
			}
		}
		*l = cp
	}
	return &out
}

func diffLine(f DiffFinding) string {
	s := severityWord(f.Severity)
	if f.PreviousSeverity != "" {
		s += " (was " + string(f.PreviousSeverity) + ")"
	}
	if f.Suppressed != nil {
		s = "SUPPRESSED " + s
	}
	if f.CheckStatus != "" {
		return fmt.Sprintf("%s  %s  [%s]  (check %s)", s, f.Title, f.ID, f.CheckStatus)
	}
	return fmt.Sprintf("%s  %s  [%s]", s, f.Title, f.ID)
}

func writeDiffText(w io.Writer, d *Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ksdoctor diff: %s %s -> %s %s\n", d.Before.Hostname, d.Before.StartedAt.Format(time.RFC3339),
		d.After.Hostname, d.After.StartedAt.Format(time.RFC3339))
	if d.Before.Hostname != d.After.Hostname {
		b.WriteString("note: the reports are of different hosts\n")
	}
	s := d.Summary
	fmt.Fprintf(&b, "%d new (%d critical, %d warning), %d resolved, %d not judged again, %d unchanged\n",
		s.New, s.NewCritical, s.NewWarning, s.Resolved, s.Unjudged, s.Unchanged)
	for _, sec := range diffSections(d) {
		if len(sec.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", sec.title)
		for _, f := range sec.list {
			fmt.Fprintf(&b, "  %s %s\n", sec.mark, diffLine(f))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type diffSection struct {
	title, mark string
	list        []DiffFinding
}

func diffSections(d *Diff) []diffSection {
	return []diffSection{
		{"New", "+", d.New},
		{"Resolved", "-", d.Resolved},
		{"Not judged again (their check did not run or could not judge)", "?", d.Unjudged},
		{"Unchanged", "=", d.Unchanged},
	}
}

func writeDiffMarkdown(w io.Writer, d *Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# ksdoctor diff: %s\n\n", d.After.Hostname)
	fmt.Fprintf(&b, "- Before: %s, %s\n- After: %s, %s\n", d.Before.Hostname, d.Before.StartedAt.Format(time.RFC3339),
		d.After.Hostname, d.After.StartedAt.Format(time.RFC3339))
	s := d.Summary
	fmt.Fprintf(&b, "- **%d new** (%d critical, %d warning), %d resolved, %d not judged again, %d unchanged\n",
		s.New, s.NewCritical, s.NewWarning, s.Resolved, s.Unjudged, s.Unchanged)
	for _, sec := range diffSections(d) {
		if len(sec.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| Severity | Finding | ID |\n|---|---|---|\n", sec.title)
		for _, f := range sec.list {
			sev := severityWord(f.Severity)
			if f.PreviousSeverity != "" {
				sev += " (was " + string(f.PreviousSeverity) + ")"
			}
			if f.Suppressed != nil {
				sev = "SUPPRESSED " + sev
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` |\n", sev, mdEscape(f.Title), f.ID)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
