package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ksdoctor/ksdoctor/redact"
)

// Write renders r as "text", "markdown" or "json", every string masked
// and escaped through package redact first, like the node reports.
func Write(w io.Writer, r *Report, format string) error {
	safe := redact.Report(*r)
	if format != "json" {
		// Text and Markdown reach terminals: control characters from a
		// node (its name, its messages) are made visible. JSON escapes
		// them itself.
		safe = redact.Copy(safe, redact.Escape)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(safe)
	case "markdown", "md":
		_, err := io.WriteString(w, markdown(&safe))
		return err
	case "text", "":
		_, err := io.WriteString(w, text(&safe))
		return err
	}
	return fmt.Errorf("unknown format %q (text, json or markdown)", format)
}

func nodeList(c CheckAcross, max int) string {
	seen := map[string]bool{}
	var names []string
	for _, n := range c.Nodes {
		if !seen[n.Node] {
			seen[n.Node] = true
			names = append(names, n.Node)
		}
	}
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(", … (%d more)", len(names)-max)
	}
	return strings.Join(names, ", ")
}

func headline(r *Report) string {
	s := r.Summary
	return fmt.Sprintf("fleet sweep %s: %d nodes, %d answered, %d not answered (exit %d)",
		r.SweepID, s.Nodes, s.Answered, s.Missing, s.ExitCode)
}

func text(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ksdoctor %s\n", headline(r))
	if r.Cluster != nil {
		fmt.Fprintf(&b, "\nCluster (checked once): %d findings\n", len(r.Cluster.Findings))
		for _, f := range r.Cluster.Findings {
			fmt.Fprintf(&b, "  [%s] %s: %s\n", f.Severity, f.ID, f.Summary)
		}
	}
	fmt.Fprintf(&b, "\nBy check:\n")
	if len(r.Checks) == 0 {
		fmt.Fprintf(&b, "  nothing found on the nodes that answered\n")
	}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  [%s] %s: %d of %d nodes: %s\n", c.Severity, c.Check, c.Count, c.Of, nodeList(c, 10))
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "      %s: %s\n", n.Node, n.Summary)
		}
	}
	if r.Summary.Missing > 0 {
		fmt.Fprintf(&b, "\nNot answered (%d):\n", r.Summary.Missing)
		for _, n := range r.Nodes {
			if !n.Answered {
				fmt.Fprintf(&b, "  %s: %s: %s\n", n.Name, n.Reason, n.Detail)
			}
		}
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ksdoctor %s\n", mdCell(headline(r)))
	if r.Cluster != nil {
		fmt.Fprintf(&b, "\n## Cluster (checked once)\n\n")
		if len(r.Cluster.Findings) == 0 {
			fmt.Fprintf(&b, "No findings.\n")
		}
		for _, f := range r.Cluster.Findings {
			fmt.Fprintf(&b, "- **%s** `%s`: %s\n", f.Severity, f.ID, mdCell(f.Summary))
		}
	}
	fmt.Fprintf(&b, "\n## By check\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n### %s `%s`: %d of %d nodes\n\n| node | severity | finding |\n|---|---|---|\n", c.Severity, c.Check, c.Count, c.Of)
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(n.Node), n.Severity, mdCell(n.Summary))
		}
	}
	if r.Summary.Missing > 0 {
		fmt.Fprintf(&b, "\n## Not answered\n\n| node | reason | detail |\n|---|---|---|\n")
		for _, n := range r.Nodes {
			if !n.Answered {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(n.Name), n.Reason, mdCell(n.Detail))
			}
		}
	}
	return b.String()
}
