package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/redact"
)

type journalFlags struct {
	format string
	last   int
}

func newJournalCmd(io streams, g *globals) *cobra.Command {
	f := &journalFlags{}
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List the remediations applied on this node",
		Long: `Journal lists every remediation ksdoctor applied on this node, oldest first,
from ` + act.JournalPath + ` under --host-root: when, what, the outcome
(verified, unverified, rolled back, failed), the files changed with their
backups. --format json prints the records as JSON lines.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			recs, err := act.ReadJournal(g.hostRoot)
			if err != nil && len(recs) == 0 {
				return fail(exitCannot, "check --host-root and the journal's permissions", "%v", err)
			}
			if err != nil {
				fmt.Fprintf(io.err, "ksdoctor: warning: %s\n", redact.Text(err.Error()))
			}
			if f.last > 0 && len(recs) > f.last {
				recs = recs[len(recs)-f.last:]
			}
			// Records written by older versions were not masked.
			recs = redact.Report(recs)
			switch f.format {
			case "json":
				enc := json.NewEncoder(io.out)
				enc.SetEscapeHTML(false)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return fail(exitCannot, "", "write: %v", err)
					}
				}
				return nil
			case "text":
			default:
				return fail(exitCannot, "use --format text or json", "unknown format %q", f.format)
			}
			if len(recs) == 0 {
				fmt.Fprintln(io.out, "No remediation has been applied on this node.")
				return nil
			}
			tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tREMEDIATION\tOUTCOME\tSTEPS\tTITLE")
			recs = redact.Copy(recs, redact.Line)
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Time.Format("2006-01-02 15:04:05Z07:00"), r.RemediationID, r.Outcome, len(r.Steps), r.Title)
			}
			if err := tw.Flush(); err != nil {
				return fail(exitCannot, "", "write: %v", err)
			}
			for _, r := range recs {
				for _, fc := range r.Files {
					fmt.Fprintf(io.out, "  %s %s: %s\n", r.Time.Format("2006-01-02 15:04:05"), fc.Path, fc.Detail)
				}
				if r.Error != "" {
					fmt.Fprintf(io.out, "  %s %s: error: %s\n", r.Time.Format("2006-01-02 15:04:05"), r.RemediationID, r.Error)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	cmd.Flags().IntVar(&f.last, "last", 0, "show only the last N records")
	return cmd
}
