package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ksdoctor/ksdoctor/diag"
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

func (p painter) severity(s diag.Severity) string {
	code := map[diag.Severity]string{diag.Critical: ansiRed + ansiBold, diag.Warning: ansiYellow + ansiBold, diag.Info: ansiBlue}[s]
	return p.paint(code, severityWord(s))
}

func writeText(w io.Writer, r *diag.Report, opts Options) error {
	p := painter(opts.Color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on %s  %s  (%d ms)\n", r.Tool.Name, r.Tool.Version, p.paint(ansiBold, r.Host.Hostname),
		r.StartedAt.Format("2006-01-02 15:04:05Z07:00"), r.DurationMs)
	sum := r.Summary.WithChecks(r.Checks)
	fmt.Fprintf(&b, "%d critical, %d warning, %d info; %d checks could not judge, %d skipped%s\n\n",
		sum.Critical, sum.Warning, sum.Info, sum.Errored, sum.Skipped, suppressedNote(sum))
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s%s  %s  %s\n", findingMarks(f), p.severity(f.Severity), p.paint(ansiBold, f.Title), p.paint(ansiDim, "["+f.ID+"]"))
		fmt.Fprintf(&b, "    %s\n", f.Summary)
		if s := f.Suppressed; s != nil {
			fmt.Fprintf(&b, "    suppressed (entry %d%s): %s\n", s.Entry, untilNote(s.Until), s.Reason)
		}
		for _, c := range f.CausedBy {
			fmt.Fprintf(&b, "    caused by: %s\n", c)
		}
		for _, c := range f.Causes {
			fmt.Fprintf(&b, "    causes: %s\n", c)
		}
		for _, e := range f.Evidence {
			writeEvidenceText(&b, e, "    ")
		}
		for _, rem := range f.Remediations {
			fmt.Fprintf(&b, "    fix (%s risk): %s\n      ksdoctor fix %s\n", rem.Risk, rem.Title, rem.ID)
		}
		b.WriteString("\n")
	}
	switch {
	case len(r.Findings) == 0 && sum.Errored > 0:
		fmt.Fprintf(&b, "%s\n\n", p.paint(ansiRed+ansiBold, fmt.Sprintf("No findings, but %s could not judge: the node is NOT known to be healthy.", plural(sum.Errored, "check"))))
	case len(r.Findings) == 0:
		b.WriteString(p.paint(ansiGreen, "No findings.") + "\n\n")
	case sum.Errored > 0:
		fmt.Fprintf(&b, "%s\n\n", p.paint(ansiRed+ansiBold, fmt.Sprintf("%s could not judge: see the checks below.", plural(sum.Errored, "check"))))
	}
	b.WriteString("Checks:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		why := c.Reason
		if c.Error != "" {
			why = c.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.1f ms\t%s\n", c.ID, statusWord(c.Status), c.DurationMs, why)
	}
	tw.Flush()
	for _, s := range r.Sources {
		if !s.OK {
			fmt.Fprintf(&b, "source %s failed: %s\n", s.Source, s.Error)
		}
	}
	for _, a := range r.Applied {
		fmt.Fprintf(&b, "applied %s: verified=%v %s\n", a.RemediationID, a.Verified, a.VerifyDetail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// suppressedNote is the summary's count of suppressed findings, or "".
func suppressedNote(s diag.Summary) string {
	if s.Suppressed == 0 {
		return ""
	}
	return fmt.Sprintf("; %d suppressed", s.Suppressed)
}

// findingMarks prefixes a finding's line: NEW for a finding not in the
// baseline, SUPPRESSED for a silenced one.
func findingMarks(f diag.Finding) string {
	var m string
	if f.New {
		m += "NEW "
	}
	if f.Suppressed != nil {
		m += "SUPPRESSED "
	}
	return m
}

func untilNote(until string) string {
	if until == "" {
		return ""
	}
	return ", until " + until
}

// plural says "1 check" or "3 checks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func writeEvidenceText(b *strings.Builder, e diag.Evidence, indent string) {
	if e.Table == nil {
		fmt.Fprintf(b, "%s%s: %s\n", indent, e.Label, e.Value)
		return
	}
	if e.Value != "" {
		fmt.Fprintf(b, "%s%s: %s\n", indent, e.Label, e.Value)
	} else {
		fmt.Fprintf(b, "%s%s:\n", indent, e.Label)
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s  %s\n", indent, strings.Join(e.Table.Columns, "\t"))
	for _, row := range e.Table.Rows {
		fmt.Fprintf(tw, "%s  %s\n", indent, strings.Join(row, "\t"))
	}
	tw.Flush()
}
