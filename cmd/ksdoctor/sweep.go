package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/atomicfile"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
)

type sweepFlags struct {
	format, output, include, skip, from string
}

func newSweepCmd(io streams, g *globals) *cobra.Command {
	f := &sweepFlags{}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Sweep the node and report the findings",
		Long: `Sweep gathers facts from this node (Docker, filesystems, network, dockerd
configuration and, with a kubeconfig, the cluster), runs every check on them
and prints the findings. Exit code: 0 nothing at warning or above, 1 the
worst finding is a warning, 2 critical, 3 the sweep could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSweep(cmd.Context(), io, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text, json or markdown")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to FILE (mode 0600) instead of stdout")
	fl.StringVar(&f.include, "checks", "", "comma-separated check IDs to run (default all)")
	fl.StringVar(&f.skip, "skip", "", "comma-separated check IDs to leave out")
	fl.StringVar(&f.from, "from", "", "judge a recorded snapshot instead of this node")
	return cmd
}

func runSweep(ctx context.Context, io streams, g *globals, f *sweepFlags) error {
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return fail(exitCannot, "use --format text, json or markdown", "%v", err)
	}
	sel, err := selectChecks(f.include, f.skip)
	if err != nil {
		return err
	}
	d, err := g.newDoctor(sel)
	if err != nil {
		return err
	}
	defer d.Gatherer.Close()
	var rep *diag.Report
	if f.from != "" {
		snap, err := diag.ReadSnapshotFile(f.from)
		if err != nil {
			return fail(exitCannot, "pass a file written by 'ksdoctor snapshot --output FILE'", "%v", err)
		}
		rep = d.Replay(snap, doctorNoProgress)
	} else {
		_, rep = d.Sweep(ctx, doctorNoProgress)
	}
	var buf bytes.Buffer
	color := f.output == "" && format == report.FormatText && colorAllowed(io)
	if err := report.Write(&buf, rep, format, report.Options{Color: color}); err != nil {
		return fail(exitCannot, "", "render report: %v", err)
	}
	if err := emit(io, f.output, buf.Bytes()); err != nil {
		return err
	}
	g.exitCode = exitFor(rep)
	return nil
}

// emit writes data to path (atomically, mode 0600) or to stdout.
func emit(io streams, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := io.out.Write(data)
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fail(exitCannot, "choose a writable --output path", "%v", err)
	}
	return nil
}

func newSnapshotCmd(io streams, g *globals) *cobra.Command {
	var output, include, skip string
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Gather the facts only and write them as a replayable snapshot",
		Long: `Snapshot gathers what the checks need and writes it as JSON, without
judging. 'ksdoctor sweep --from FILE' later gives the same findings as the
live sweep would have.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fail(exitCannot, "pass --output FILE (or - for stdout)", "snapshot needs --output")
			}
			sel, err := selectChecks(include, skip)
			if err != nil {
				return err
			}
			d, err := g.newDoctor(sel)
			if err != nil {
				return err
			}
			defer d.Gatherer.Close()
			snap := d.Gatherer.Collect(cmd.Context(), d.Tool, d.Checks, d.Config, nil)
			data, err := json.MarshalIndent(snap, "", "  ")
			if err != nil {
				return fail(exitCannot, "", "encode snapshot: %v", err)
			}
			if err := emit(io, output, append(data, '\n')); err != nil {
				return err
			}
			if output != "-" {
				fmt.Fprintf(io.err, "ksdoctor: snapshot of %d sources written to %s\n", len(snap.Sources), output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the snapshot to FILE (mode 0600)")
	cmd.Flags().StringVar(&include, "checks", "", "gather only what these checks need")
	cmd.Flags().StringVar(&skip, "skip", "", "leave out what only these checks need")
	return cmd
}

func newChecksCmd(io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "checks",
		Short: "List every check with its ID, title and sources",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var b bytes.Buffer
			for _, c := range allChecks() {
				fmt.Fprintf(&b, "%-34s %-48s %v\n", c.ID, c.Title, c.Sources())
			}
			_, err := io.out.Write(b.Bytes())
			return err
		},
	}
}
