package main

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/load"
)

type suppressFlags struct {
	reason, until, node, from string
}

// newSuppressCmd prints configuration entries that suppress findings, so
// the IDs come from tab completion instead of being copied by hand.
func newSuppressCmd(io streams, g *globals) *cobra.Command {
	f := &suppressFlags{}
	cmd := &cobra.Command{
		Use:   "suppress FINDING-ID...",
		Short: "Print the configuration entries that suppress findings, with a reason",
		Long: `Suppress prints a "suppressions:" block for the configuration file (--config):
one entry per ID, by check when the ID is a check ID, else by finding ID
(a glob: "net.foo/*"). --reason is mandatory; --until YYYY-MM-DD ends the
entry after that day; --node limits it to one hostname (a glob).

With --from (a snapshot to replay, or a JSON report) the IDs complete from
its findings and an ID it does not hold is refused; without it they
complete from the check IDs. Nothing is written: paste the block into the
configuration.`,
		Example: `  ksdoctor suppress docker.exited-containers --reason "CI runner, pruned nightly" --until 2027-01-31
  ksdoctor suppress --from snap.json 'k8s.evicted-pods/*' --reason "batch namespace" >> /etc/ksdoctor/config.yaml`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completeFindingIDs(f.from, args, toComplete)
		},
		RunE: func(_ *cobra.Command, args []string) error {
			return runSuppress(io, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.reason, "reason", "", "why these findings are accepted (mandatory)")
	fl.StringVar(&f.until, "until", "", "last day the entries apply, YYYY-MM-DD (UTC)")
	fl.StringVar(&f.node, "node", "", "only on this node (hostname glob)")
	fl.StringVar(&f.from, "from", "", "a snapshot or JSON report whose findings the IDs must name")
	_ = g
	return cmd
}

func runSuppress(io streams, f *suppressFlags, ids []string) error {
	if f.from != "" {
		known, err := findingsFrom(f.from)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.ContainsFunc(known, func(k diag.Finding) bool { return globMatch(id, k.ID) }) {
				return fail(exitCannot, "press tab after 'ksdoctor suppress --from FILE' to list its finding IDs", "no finding of %s matches %q", f.from, id)
			}
		}
	}
	var entries []diag.Suppression
	for _, id := range ids {
		e := diag.Suppression{Finding: id, Reason: f.reason, Until: f.until, Node: f.node}
		if c, ok := checkFor(id); ok && c.ID == id {
			e.Check, e.Finding = id, ""
		}
		entries = append(entries, e)
	}
	out, err := yaml.Marshal(map[string][]diag.Suppression{"suppressions": entries})
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	// The configuration's own validator judges the block (reason, until, globs).
	if _, err := diag.ParseConfig(out); err != nil {
		return fail(exitCannot, "give --reason TEXT and, if any, --until YYYY-MM-DD", "%v", err)
	}
	_, err = io.out.Write(out)
	return err
}

// globMatch matches a suppression's finding pattern as diag.Suppress does
// (path.Match: "*" never crosses a "/").
func globMatch(pattern, id string) bool {
	ok, err := path.Match(pattern, id)
	return err == nil && ok
}

// findingsFrom reads the findings of a JSON report, or of a snapshot
// replayed with every check and the default configuration.
func findingsFrom(file string) ([]diag.Finding, error) {
	if rep, err := readReport(file); err == nil {
		return rep.Findings, nil
	}
	snap, err := load.Snapshot(file)
	if err != nil {
		return nil, fail(exitCannot, "pass --from a snapshot ('ksdoctor snapshot') or a JSON report ('ksdoctor sweep --format json')", "%s is neither a report nor a snapshot: %v", file, err)
	}
	d := &doctor.Doctor{Checks: checks.All(), Config: diag.DefaultConfig()}
	return d.Replay(snap, doctor.Progress{}).Findings, nil
}

// completeFindingIDs completes finding IDs from --from when given, else
// check IDs (a suppression by check).
func completeFindingIDs(from string, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if from == "" {
		return completeCheckIDs(nil, nil, toComplete)
	}
	fs, err := findingsFrom(from)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	for _, f := range fs {
		if strings.HasPrefix(f.ID, toComplete) && !slices.Contains(args, f.ID) && !slices.ContainsFunc(out, func(c cobra.Completion) bool { return strings.HasPrefix(c, f.ID+"\t") }) {
			out = append(out, cobra.CompletionWithDesc(f.ID, string(f.Severity)+": "+f.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
