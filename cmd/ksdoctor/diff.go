package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/report/validate"
)

// maxReportBytes caps a report read back (diff, --baseline).
const maxReportBytes = 256 << 20

func newDiffCmd(io streams, g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "List the findings that are new, resolved or unchanged between two JSON reports",
		Long: `Diff compares two reports written by 'ksdoctor sweep --format json', by
finding ID: new findings (only in NEW), resolved ones (in OLD, and their check
judged again in NEW without them), not judged again (in OLD, but their check
errored, was skipped or not run in NEW: not known to be resolved) and
unchanged ones (with a severity change noted). Both files are validated
against the report schema first.

Exit codes: 0 no new finding at warning or above, 1 new warnings, 2 a new
critical finding, 3 a report could not be read or is not a valid report.
Suppressed findings never raise the code.`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			f, err := report.ParseFormat(format)
			if err != nil || (f != report.FormatText && f != report.FormatJSON && f != report.FormatMarkdown) {
				return fail(exitCannot, "use --format text, json or markdown", "unknown diff format %q", format)
			}
			before, err := readReport(args[0])
			if err != nil {
				return err
			}
			after, err := readReport(args[1])
			if err != nil {
				return err
			}
			d := report.Compare(before, after)
			var b bytes.Buffer
			if err := report.WriteDiff(&b, d, f); err != nil {
				return fail(exitCannot, "", "render diff: %v", err)
			}
			if _, err := io.out.Write(b.Bytes()); err != nil {
				return err
			}
			switch {
			case d.Summary.NewCritical > 0:
				g.exitCode = exitCritical
			case d.Summary.NewWarning > 0:
				g.exitCode = exitWarning
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	return cmd
}

// readUserFile reads a file the user named (what it should be: "report"),
// up to maxReportBytes, as an error with hint on failure.
func readUserFile(path, what, hint string) ([]byte, error) {
	name := redact.Line(path)
	file, err := os.Open(path)
	if err != nil {
		return nil, fail(exitCannot, hint, "read %s: %v", what, err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxReportBytes+1))
	if err != nil {
		return nil, fail(exitCannot, hint, "read %s %s: %v", what, name, err)
	}
	if len(data) > maxReportBytes {
		return nil, fail(exitCannot, hint, "%s %s is over %d MiB", what, name, maxReportBytes>>20)
	}
	return data, nil
}

// readReport reads a JSON report written by 'sweep --format json' and
// validates it against the report schema.
func readReport(path string) (*diag.Report, error) {
	const hint = "pass a report written by 'ksdoctor sweep --format json --output FILE'"
	data, err := readUserFile(path, "report", hint)
	if err != nil {
		return nil, err
	}
	name := redact.Line(path)
	if err := validate.Report(data); err != nil {
		return nil, fail(exitCannot, hint, "%s is not a valid ksdoctor report: %v", name, err)
	}
	var r diag.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fail(exitCannot, hint, "%s is not a valid ksdoctor report: %v", name, err)
	}
	return &r, nil
}
