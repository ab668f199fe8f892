// Package report renders a diag.Report for people and machines: JSON for
// tickets and tools, Markdown for ticket bodies, and plain or coloured text
// for terminals. All renderers read the same report; secrets are masked
// before anything is written.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Format names an output format.
type Format string

// Formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatMarkdown:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want text, json or markdown)", s)
}

// Options tunes rendering.
type Options struct {
	Color bool // ANSI colour in text output
}

// Write renders r in format f.
func Write(w io.Writer, r *diag.Report, f Format, opts Options) error {
	r = Redact(r)
	switch f {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatMarkdown:
		return writeMarkdown(w, r)
	default:
		return writeText(w, r, opts)
	}
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *diag.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	out := Redact(r)
	// The counts of checks that could not judge or were skipped always
	// match the checks listed, whoever built the report.
	out.Summary = out.Summary.WithChecks(out.Checks)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)`),
	regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*`),
	regexp.MustCompile(`(?i)("?(?:password|passwd|secret|token|auth|casc-reload-token)"?\s*[:=]\s*"?)[^\s",}&]+`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`),
}

// RedactString masks private keys, bearer tokens, passwords and JWTs.
func RedactString(s string) string {
	for i, re := range secretPatterns {
		switch i {
		case 0:
			s = re.ReplaceAllString(s, "[private key redacted]")
		case 1:
			s = re.ReplaceAllString(s, "$1 [redacted]")
		case 2:
			s = re.ReplaceAllString(s, "${1}[redacted]")
		default:
			s = re.ReplaceAllString(s, "[token redacted]")
		}
	}
	return urlUserinfo.ReplaceAllString(s, "${1}[redacted]@")
}

// urlUserinfo matches the user:password part of a URL (HTTP_PROXY=http://u:p@host).
var urlUserinfo = regexp.MustCompile(`(://)[^/\s:@"']+:[^/\s@"']+@`)

// redactSteps copies steps, masking secrets in file contents a plan would write.
func redactSteps(steps []diag.Step) []diag.Step {
	if len(steps) == 0 {
		return steps
	}
	out := make([]diag.Step, len(steps))
	for i, st := range steps {
		if st.File != nil {
			fe := *st.File
			fe.Content, fe.Diff = RedactString(fe.Content), RedactString(fe.Diff)
			st.File = &fe
		}
		if st.Migration != nil && st.Migration.Edit != nil {
			m := *st.Migration
			fe := *m.Edit
			fe.Content, fe.Diff = RedactString(fe.Content), RedactString(fe.Diff)
			m.Edit = &fe
			st.Migration = &m
		}
		out[i] = st
	}
	return out
}

// Redact returns a copy of r with every free-text field passed through
// RedactString. Checks should never put secrets in evidence; this is the
// second line of defence.
func Redact(r *diag.Report) *diag.Report {
	out := *r
	// Lists are written as [] rather than null.
	if out.Checks == nil {
		out.Checks = []diag.CheckResult{}
	}
	if out.Sources == nil {
		out.Sources = []diag.SourceStatus{}
	}
	out.Findings = make([]diag.Finding, len(r.Findings))
	for i, f := range r.Findings {
		f.Summary = RedactString(f.Summary)
		f.Explanation = RedactString(f.Explanation)
		ev := make([]diag.Evidence, len(f.Evidence))
		for j, e := range f.Evidence {
			e.Value = RedactString(e.Value)
			if e.Table != nil {
				t := &diag.Table{Columns: e.Table.Columns, Rows: make([][]string, len(e.Table.Rows))}
				for k, row := range e.Table.Rows {
					nr := make([]string, len(row))
					for c, cell := range row {
						nr[c] = RedactString(cell)
					}
					t.Rows[k] = nr
				}
				e.Table = t
			}
			ev[j] = e
		}
		f.Evidence = ev
		rems := make([]diag.Remediation, len(f.Remediations))
		for j, rem := range f.Remediations {
			rem.Preview = RedactString(rem.Preview)
			rem.Plan.Steps = redactSteps(rem.Plan.Steps)
			rems[j] = rem
		}
		f.Remediations = rems
		out.Findings[i] = f
	}
	return &out
}

// severityWord is the symbol and word shown for a severity (never colour
// alone).
func severityWord(s diag.Severity) string {
	switch s {
	case diag.Critical:
		return "✖ CRITICAL"
	case diag.Warning:
		return "▲ WARNING"
	case diag.Info:
		return "● INFO"
	}
	return strings.ToUpper(string(s))
}

func statusWord(s diag.Status) string {
	switch s {
	case diag.StatusPass:
		return "✓ pass"
	case diag.StatusFail:
		return "✗ fail"
	case diag.StatusError:
		return "! error"
	case diag.StatusSkipped:
		return "- skipped"
	}
	return string(s)
}
