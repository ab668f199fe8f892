package diag

import (
	"fmt"
	"strings"
)

// FormatBytes formats n as df -h does, in binary units ("1.5 GiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ShortID is a Docker object ID as docker ps shows it: without "sha256:",
// cut to 12 characters.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Symbol is the sign shown beside a severity wherever it is shown (text,
// Markdown, the terminal UI), so meaning never rests on colour alone.
func (s Severity) Symbol() string {
	switch s {
	case Critical:
		return "✖"
	case Warning:
		return "▲"
	case Info:
		return "●"
	}
	return "?"
}
