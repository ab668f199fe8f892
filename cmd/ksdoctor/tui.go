package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/tui"
)

type tuiFlags struct {
	from, include, skip, exportDir string
	baseline                       string
	readOnly                       bool
}

func newTUICmd(io streams, g *globals) *cobra.Command {
	f := &tuiFlags{}
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Open the interactive terminal UI (what plain 'ksdoctor' does on a terminal)",
		Long: `The terminal UI sweeps the node live, lists the findings by severity, shows
each one's evidence and causes, and applies a fix with one key after showing
its exact plan: y applies, any other key cancels, and high-risk fixes need
the node's hostname typed. The check then runs again to verify. 'e' exports
the report (JSON and Markdown, mode 0600) with the fixes applied.
--read-only removes every fix key; --from browses a recorded snapshot with
fixes disabled. --from a fleet report (sweep --all-nodes --format json)
opens the fleet view: checks with node counts, then nodes, then a node's
finding with the 'ksdoctor fix' command to run on that node (the fleet
view applies nothing; its exit code is the report's). Exit code 0, or 4 when a fix applied in the session failed
or did not verify.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd.Context(), io, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "browse a recorded snapshot (fixes disabled), or a fleet report (sweep --all-nodes --format json)")
	fl.BoolVar(&f.readOnly, "read-only", false, "no remediation keys at all")
	fl.StringVar(&f.include, "checks", "", "comma-separated check IDs to run (default all)")
	fl.StringVar(&f.skip, "skip", "", "comma-separated check IDs to leave out")
	fl.StringVar(&f.baseline, "baseline", "", "mark the findings not in this earlier JSON report as new")
	fl.StringVar(&f.exportDir, "export-dir", ".", "directory 'e' writes the report files to")
	return cmd
}

func runTUI(ctx context.Context, io streams, g *globals, f *tuiFlags) error {
	if !io.isTerminal(io.in) || !io.isTerminal(io.out) {
		return fail(exitCannot, "run 'ksdoctor sweep' for a report without a terminal", "the terminal UI needs a terminal on stdin and stdout")
	}
	if f.from != "" {
		if rep, ok, err := readFleetFrom(f.from); err != nil || ok {
			if err != nil {
				return err
			}
			if f.include != "" || f.skip != "" || f.baseline != "" {
				return fail(exitCannot, "leave out --checks, --skip and --baseline with a fleet report", "--from %s is a fleet report: it is shown as it was swept", redact.Line(f.from))
			}
			return showFleet(ctx, io, g, rep, f.from)
		}
	}
	d, err := g.doctorFor(f.include, f.skip)
	if err != nil {
		return err
	}
	defer d.Gatherer.Close()
	opts := tui.Options{Checks: d.Checks, ReadOnly: f.readOnly, ExportDir: f.exportDir}
	if f.from != "" {
		snap, err := readSnapshot(f.from)
		if err != nil {
			return err
		}
		opts.From, opts.FromPath = snap, f.from
	} else if !f.readOnly {
		connectExecutor(d)
	}
	var eng tui.Engine = d
	if f.baseline != "" {
		base, err := readReport(f.baseline)
		if err != nil {
			return err
		}
		eng = baselineEngine{Doctor: d, base: base}
	}
	res, err := tui.Run(ctx, eng, opts, io.in, io.out)
	if err != nil {
		return fail(exitCannot, "run 'ksdoctor sweep' for a plain report", "%v", err)
	}
	for _, a := range res.Applied {
		if a.Error != "" || !a.Verified {
			g.exitCode = exitFixFail
		}
	}
	return nil
}

// baselineEngine is the doctor with every report's new findings marked
// against a baseline report (tui --baseline).
type baselineEngine struct {
	*doctor.Doctor
	base *diag.Report
}

func (b baselineEngine) Sweep(ctx context.Context, p doctor.Progress) (*diag.Snapshot, *diag.Report) {
	snap, rep := b.Doctor.Sweep(ctx, p)
	report.MarkNew(rep, b.base)
	return snap, rep
}

func (b baselineEngine) Replay(snap *diag.Snapshot, p doctor.Progress) *diag.Report {
	rep := b.Doctor.Replay(snap, p)
	report.MarkNew(rep, b.base)
	return rep
}
