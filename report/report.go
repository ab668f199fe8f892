// Package report renders a diag.Report for people and machines: JSON for
// tickets and tools, Markdown for ticket bodies, and plain or coloured text
// for terminals. All renderers read the same report; secrets are masked
// before anything is written.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
)

// Format names an output format.
type Format string

// Formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
	FormatSARIF    Format = "sarif"
	FormatJUnit    Format = "junit"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatMarkdown, FormatSARIF, FormatJUnit:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want text, json, markdown, sarif or junit)", s)
}

// Options tunes rendering.
type Options struct {
	Color bool // ANSI colour in text output
	// Checks is the check registry: SARIF's rules (with their help text)
	// and JUnit's test cases come from it. Nil: the report's checks only.
	Checks []diag.Check
}

// Write renders r in format f.
func Write(w io.Writer, r *diag.Report, f Format, opts Options) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatMarkdown:
		return writeMarkdown(w, ForTerminal(r))
	case FormatSARIF:
		return writeSARIF(w, Redact(r), opts.Checks)
	case FormatJUnit:
		return writeJUnit(w, ForTerminal(r))
	default:
		return writeText(w, ForTerminal(r), opts)
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

// RedactString masks the secrets in s (see package redact).
func RedactString(s string) string { return redact.String(s) }

// Redact returns a copy of r with every string in it, the plans' file
// contents and diffs included, passed through redact.String. The plans
// in r are not changed: applying them writes the real content.
func Redact(r *diag.Report) *diag.Report {
	out := redact.Report(r)
	// Lists are written as [] rather than null.
	if out.Checks == nil {
		out.Checks = []diag.CheckResult{}
	}
	if out.Sources == nil {
		out.Sources = []diag.SourceStatus{}
	}
	if out.Findings == nil {
		out.Findings = []diag.Finding{}
	}
	return out
}

// ForTerminal is Redact plus redact.Escape on every string: what text,
// Markdown and the terminal UI show of a report.
func ForTerminal(r *diag.Report) *diag.Report {
	return redact.Copy(Redact(r), redact.Escape)
}

// severityWord is the symbol and word shown for a severity (never colour
// alone).
func severityWord(s diag.Severity) string {
	return s.Symbol() + " " + strings.ToUpper(string(s))
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
