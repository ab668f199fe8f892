package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", "<br>").Replace(s)
}

// codeFence is a fence longer than any run of backticks in s, so node
// data in a preview cannot close the code block and turn into Markdown.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func writeMarkdown(w io.Writer, r *diag.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# ksdoctor report: %s\n\n", r.Host.Hostname)
	fmt.Fprintf(&b, "- Swept: %s (%d ms) by %s %s\n", r.StartedAt.Format("2006-01-02 15:04:05Z07:00"), r.DurationMs, r.Tool.Name, r.Tool.Version)
	if r.Host.Kernel != "" || r.Host.OS != "" {
		fmt.Fprintf(&b, "- Host: %s, kernel %s\n", r.Host.OS, r.Host.Kernel)
	}
	sum := r.Summary.WithChecks(r.Checks)
	fmt.Fprintf(&b, "- Findings: **%d critical**, **%d warning**, %d info%s\n", sum.Critical, sum.Warning, sum.Info, suppressedNote(sum))
	fmt.Fprintf(&b, "- Checks: **%d could not judge**, %d skipped, of %d\n\n", sum.Errored, sum.Skipped, len(r.Checks))
	if sum.Errored > 0 {
		fmt.Fprintf(&b, "> **%s could not judge**: this node is not known to be healthy where they look (see Checks).\n\n", plural(sum.Errored, "check"))
	}
	if len(r.Findings) > 0 {
		b.WriteString("| Severity | Finding | ID |\n|---|---|---|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s%s | %s | `%s` |\n", findingMarks(f), severityWord(f.Severity), mdEscape(f.Title), f.ID)
		}
		b.WriteString("\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "## %s%s %s\n\n%s\n\n", findingMarks(f), severityWord(f.Severity), f.Title, f.Summary)
		if s := f.Suppressed; s != nil {
			fmt.Fprintf(&b, "> Suppressed (entry %d%s): %s\n\n", s.Entry, untilNote(s.Until), mdEscape(s.Reason))
		}
		if f.Explanation != "" {
			fmt.Fprintf(&b, "%s\n\n", f.Explanation)
		}
		for _, c := range f.CausedBy {
			fmt.Fprintf(&b, "- Caused by: `%s`\n", c)
		}
		for _, c := range f.Causes {
			fmt.Fprintf(&b, "- Causes: `%s`\n", c)
		}
		if len(f.CausedBy)+len(f.Causes) > 0 {
			b.WriteString("\n")
		}
		for _, e := range f.Evidence {
			if e.Table == nil {
				fmt.Fprintf(&b, "- **%s:** %s\n", e.Label, mdEscape(e.Value))
				continue
			}
			fmt.Fprintf(&b, "\n**%s**", e.Label)
			if e.Value != "" {
				fmt.Fprintf(&b, ": %s", mdEscape(e.Value))
			}
			b.WriteString("\n\n| " + strings.Join(e.Table.Columns, " | ") + " |\n|" + strings.Repeat("---|", len(e.Table.Columns)) + "\n")
			for _, row := range e.Table.Rows {
				cells := make([]string, len(row))
				for i, c := range row {
					cells[i] = mdEscape(c)
				}
				b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			}
			b.WriteString("\n")
		}
		for _, rem := range f.Remediations {
			fence := codeFence(rem.Preview)
			fmt.Fprintf(&b, "\n**Fix (%s risk): %s** — `ksdoctor fix %s`\n\n%s\n%s\n%s\n", rem.Risk, mdEscape(rem.Title), rem.ID, fence, rem.Preview, fence)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Checks\n\n| Check | Status | ms | Note |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		note := c.Reason
		if c.Error != "" {
			note = c.Error
		}
		fmt.Fprintf(&b, "| `%s` | %s | %.1f | %s |\n", c.ID, statusWord(c.Status), c.DurationMs, mdEscape(note))
	}
	if len(r.Applied) > 0 {
		b.WriteString("\n## Remediations applied\n\n| Remediation | Done | Skipped | Failed | Verified | Detail |\n|---|---|---|---|---|---|\n")
		for _, a := range r.Applied {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %v | %s |\n", a.RemediationID, a.Count(diag.OutcomeDone),
				a.Count(diag.OutcomeSkipped)+a.Count(diag.OutcomeNoop), a.Count(diag.OutcomeFailed), a.Verified, mdEscape(a.VerifyDetail))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
