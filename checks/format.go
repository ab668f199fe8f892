package checks

import (
	"fmt"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// age formats how long before now t was, coarsely ("3d", "5h", "12m").
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// capRows keeps the first maxRows rows of an evidence table and counts the
// rest in a last row, so a node with 40,000 directives makes a report of
// kilobytes, not megabytes.
func capRows(t *diag.Table) *diag.Table {
	if len(t.Rows) <= maxRows {
		return t
	}
	more := make([]string, len(t.Columns))
	more[0] = "…"
	if len(more) > 1 {
		more[1] = fmt.Sprintf("and %d more", len(t.Rows)-maxRows)
	}
	t.Rows = append(t.Rows[:maxRows:maxRows], more)
	return t
}
