package tui

import (
	"fmt"
	"regexp"

	"github.com/ksdoctor/ksdoctor/diag"
)

// findingBody is what a finding says: its summary, why it matters and its
// evidence, wrapped to w cells. The node detail and the fleet detail both
// show it.
func findingBody(st styles, f diag.Finding, w int) []string {
	return append(wrap(f.Summary, w), findingWhy(st, f, w)...)
}

// findingWhy is why a finding matters and its evidence.
func findingWhy(st styles, f diag.Finding, w int) []string {
	var out []string
	if f.Explanation != "" {
		out = append(out, "", st.group.Render("Why"))
		out = append(out, wrap(f.Explanation, w)...)
	}
	if len(f.Evidence) == 0 {
		return out
	}
	out = append(out, "", st.group.Render("Evidence"))
	for _, e := range f.Evidence {
		if e.Value == "" {
			out = append(out, "  "+e.Label+":")
		} else {
			for i, l := range wrap(e.Label+": "+e.Value, w-2) {
				if i == 0 {
					out = append(out, "  "+l)
				} else {
					out = append(out, "    "+l)
				}
			}
		}
		if e.Table != nil {
			out = append(out, tableLines(e.Table, "    ", st.bold.Render)...)
		}
	}
	return out
}

// remediationID is the shape of every remediation ID (CHECK-ID/ACTION):
// nothing a shell or a terminal would read as more than a word.
var remediationID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*$`)

// inputFlags are the 'ksdoctor fix' flags of the remediation inputs.
var inputFlags = map[string]string{"to": "--to", "symlink": "--symlink"}

// fixCommand is the exact 'ksdoctor fix' command for r, ready to copy, and
// a note on it; or "" and why there is none: an ID from a report is data
// from a node, and only one of a check this ksdoctor knows, in the shape
// remediation IDs have, becomes a command.
func fixCommand(r diag.Remediation, known map[string]bool) (cmd, note string) {
	check := diag.CheckIDFromRemediation(r.ID)
	if !remediationID.MatchString(r.ID) || !known[check] {
		return "", fmt.Sprintf("no command: %q is not a remediation of a check this ksdoctor knows", r.ID)
	}
	cmd = "ksdoctor fix " + r.ID
	if in := r.Input; in != nil {
		if flag, ok := inputFlags[in.Name]; ok {
			note = fmt.Sprintf("add %s VALUE: %s", flag, in.Prompt)
		} else {
			note = "this fix asks for a value: " + in.Prompt
		}
	}
	return cmd, note
}
