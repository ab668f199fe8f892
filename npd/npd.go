// Package npd turns a report into node-problem-detector's custom-plugin
// answer: an exit status (0 OK, 1 NonOK, 2 Unknown) and one line of
// message, as NPD's plugin runner reads them
// (kubernetes/node-problem-detector, pkg/custompluginmonitor/plugin/plugin.go):
// it keeps at most 4 KiB of stdout, trims the surrounding white space,
// then cuts the message at max_output_length bytes (80 by default), and
// maps exit 0 to OK, 1 to NonOK and anything else, a kill at its timeout
// included, to Unknown.
//
// The line is built so NPD's cut never loses what matters: the verdict,
// the worst finding's ID and the count come first, the free text last; the
// line never exceeds the limit, so NPD never cuts, and a cut of ours falls
// on a rune boundary. Secrets are masked and control characters escaped.
package npd

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
)

// Status is a custom plugin's exit status, as NPD's cpmtypes.Status.
type Status int

// The statuses NPD maps exit codes to.
const (
	OK      Status = 0
	NonOK   Status = 1
	Unknown Status = 2
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case NonOK:
		return "NonOK"
	}
	return "Unknown"
}

// DefaultMaxOutput is NPD's default max_output_length
// (pkg/custompluginmonitor/types/config.go, defaultMaxOutputLength).
const DefaultMaxOutput = 80

// Judge gives the plugin's answer for the checks named in ids (nil: every
// check in the report). A finding at warning or above that no suppression
// silences is a problem: NonOK, whatever else happened. Otherwise a check
// that could not judge (status error), or no check judged at all (every
// one skipped or missing from the report), is Unknown: never OK. The
// message is not yet cut: pass it to Line.
func Judge(rep *diag.Report, ids []string) (Status, string) {
	want := func(id string) bool { return len(ids) == 0 || slices.Contains(ids, id) }
	var problems []diag.Finding
	for _, f := range rep.Findings {
		if want(f.Check) && f.Suppressed == nil && f.Severity.Rank() >= diag.Warning.Rank() {
			problems = append(problems, f)
		}
	}
	if len(problems) > 0 {
		// Most urgent first, then by ID, so the same state gives the same
		// line (NPD updates a condition when its message changes).
		slices.SortStableFunc(problems, func(a, b diag.Finding) int {
			if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
				return d
			}
			return strings.Compare(a.ID, b.ID)
		})
		w := problems[0]
		more := ""
		if len(problems) > 1 {
			more = fmt.Sprintf(" (+%d more)", len(problems)-1)
		}
		return NonOK, fmt.Sprintf("%s %s%s: %s", w.Severity, w.ID, more, oneOf(w.Title, w.Summary))
	}
	seen := map[string]bool{}
	var errored, skipped, passed []diag.CheckResult
	for _, c := range rep.Checks {
		if !want(c.ID) {
			continue
		}
		seen[c.ID] = true
		switch c.Status {
		case diag.StatusError:
			errored = append(errored, c)
		case diag.StatusSkipped:
			skipped = append(skipped, c)
		default:
			passed = append(passed, c)
		}
	}
	if len(errored) > 0 {
		c := errored[0]
		more := ""
		if len(errored) > 1 {
			more = fmt.Sprintf(" (+%d more)", len(errored)-1)
		}
		return Unknown, fmt.Sprintf("unknown %s%s: %s", c.ID, more, oneOf(c.Error, "could not judge, no reason given"))
	}
	for _, id := range ids {
		if !seen[id] {
			return Unknown, fmt.Sprintf("unknown %s: not in the report", id)
		}
	}
	if len(passed) == 0 {
		if len(skipped) == 0 {
			return Unknown, "unknown: no check ran"
		}
		c := skipped[0]
		return Unknown, fmt.Sprintf("unknown %s: nothing judged, skipped: %s", c.ID, oneOf(c.Reason, "no reason given"))
	}
	if len(passed) == 1 {
		return OK, "ok " + passed[0].ID
	}
	return OK, fmt.Sprintf("ok: %d checks passed", len(passed))
}

func oneOf(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

// ellipsis marks a line we cut.
const ellipsis = "…"

// Line makes msg the plugin's stdout line: secrets masked, control
// characters (newlines too) escaped, white space collapsed and trimmed as
// NPD's strings.TrimSpace would, and at most max bytes (max < 1: NPD's
// default), cut on a rune boundary and marked with "…" when cut.
func Line(msg string, max int) string {
	if max < 1 {
		max = DefaultMaxOutput
	}
	s := redact.Line(strings.Join(strings.Fields(redact.String(msg)), " "))
	if len(s) <= max {
		return s
	}
	keep := max - len(ellipsis)
	if keep < 0 {
		return strings.TrimSpace(cut(s, max))
	}
	return strings.TrimSpace(cut(s, keep)) + ellipsis
}

// cut returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
