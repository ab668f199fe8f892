package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
)

func newExplainCmd(io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "explain CHECK-ID",
		Short: "Explain a check: what it looks for, what it reads, how it is fixed",
		Long: `Explain prints a check's documentation from the registry, the sources it
reads (needs: must have been gathered; uses: read when present) and the
remediations it offers with their risk. A remediation or finding ID
(CHECK-ID/...) explains its check. An unknown ID is an error that names
the nearest check IDs.`,
		Example:           "  ksdoctor explain docker.exited-containers\n  ksdoctor explain net.ip-forward-disabled/enable",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeCheckIDs,
		RunE: func(_ *cobra.Command, args []string) error {
			c, ok := checkFor(args[0])
			if !ok {
				return fail(exitCannot, nearestHint(args[0]), "unknown check %q", args[0])
			}
			_, err := io.out.Write(explainText(c))
			return err
		},
	}
}

// checkFor finds the check of a check, remediation or finding ID: the
// longest registered check ID the argument equals or starts with plus "/"
// (a finding's subject may itself hold slashes, e.g. a file path).
func checkFor(id string) (diag.Check, bool) {
	var best diag.Check
	for _, c := range checks.All() {
		if (id == c.ID || strings.HasPrefix(id, c.ID+"/")) && len(c.ID) > len(best.ID) {
			best = c
		}
	}
	return best, best.ID != ""
}

func explainText(c diag.Check) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s\n\n", c.ID, c.Title)
	if doc := strings.TrimSpace(c.Doc); doc != "" {
		b.WriteString(doc + "\n\n")
	}
	b.WriteString("Reads:\n")
	for _, s := range c.Needs {
		fmt.Fprintf(&b, "  %-22s needed: without it the check cannot judge\n", s)
	}
	for _, s := range c.Uses {
		fmt.Fprintf(&b, "  %-22s used when gathered\n", s)
	}
	if c.Wants != nil {
		b.WriteString("  (and, when the cheap facts call for them, more expensive sources)\n")
	}
	if len(c.Sources()) == 0 {
		b.WriteString("  nothing gathered: it judges the findings of other checks\n")
	}
	rems := remediationsOf(c.ID)
	if len(rems) == 0 {
		b.WriteString("\nRemediations: none; the finding says what to do by hand.\n")
		return b.Bytes()
	}
	b.WriteString("\nRemediations (apply with 'ksdoctor fix ID'; each shows its exact plan first):\n")
	for _, r := range rems {
		fmt.Fprintf(&b, "  %-42s risk %-6s %s\n", r.ID, r.Risk, r.What)
	}
	return b.Bytes()
}

// nearestHint names up to three registered check IDs closest to id.
func nearestHint(id string) string {
	type cand struct {
		id   string
		dist int
	}
	var cs []cand
	for _, c := range checks.All() {
		d := editDistance(id, c.ID)
		if strings.Contains(c.ID, id) || strings.Contains(id, c.ID) {
			d = min(d, 1)
		}
		cs = append(cs, cand{c.ID, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.dist - b.dist })
	var names []string
	for _, c := range cs[:min(3, len(cs))] {
		names = append(names, c.id)
	}
	return "nearest check IDs: " + strings.Join(names, ", ") + " ('ksdoctor checks' lists them all)"
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
