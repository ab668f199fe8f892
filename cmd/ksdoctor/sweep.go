package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/outfile"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
)

type sweepFlags struct {
	format, output, include, skip, from string
	baseline, textfile                  string
	interval                            time.Duration
	notify                              notifyFlags
}

func newSweepCmd(io streams, g *globals) *cobra.Command {
	f := &sweepFlags{}
	var ff *fleetFlags
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Sweep the node and report the findings",
		Long: `Sweep gathers facts from this node (Docker, filesystems, network, dockerd
configuration and, with a kubeconfig, the cluster), runs every check on them
and prints the findings. A check that could not judge (its source failed,
timed out, was over a limit or held nothing) has status error and is
counted in the summary; it never reads as healthy.

With --all-nodes it sweeps the cluster's nodes instead, read-only: the
cluster checks once here, then one Job per node (namespace from
deploy/fleet) running this sweep in the ksdoctor image; the reports come
back through pod logs and merge into one fleet report, grouped by check
then node. Every Job and pod it made is deleted before it exits, also on
ctrl+c. Exit code 3 when no node answered.

` + exitCodeHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ff.allNodes && len(f.notify.urls) > 0 {
				return fail(exitCannot, "run --notify on a single node's sweep", "--notify does not work with --all-nodes yet")
			}
			if ff.allNodes {
				return runFleet(cmd.Context(), io, g, f, ff)
			}
			if err := ff.unused(cmd); err != nil {
				return err
			}
			return runSweep(cmd.Context(), io, g, f)
		},
	}
	ff = addFleetFlags(cmd)
	addNotifyFlags(cmd, &f.notify)
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text, json, markdown, sarif (SARIF 2.1.0) or junit (JUnit XML)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to FILE (mode 0600) instead of stdout")
	fl.StringVar(&f.include, "checks", "", "comma-separated check IDs to run (default all)")
	fl.StringVar(&f.skip, "skip", "", "comma-separated check IDs to leave out")
	fl.StringVar(&f.from, "from", "", "judge a recorded snapshot instead of this node")
	fl.StringVar(&f.textfile, "textfile", "", "also write the findings as Prometheus metrics to DIR/ksdoctor.prom (node_exporter's textfile collector)")
	fl.DurationVar(&f.interval, "interval", 0, "sweep again every DURATION until stopped, e.g. 5m with --textfile in a DaemonSet (0: once)")
	fl.StringVar(&f.baseline, "baseline", "", "mark the findings not in this earlier JSON report as new")
	return cmd
}

func runSweep(ctx context.Context, io streams, g *globals, f *sweepFlags) error {
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return fail(exitCannot, "use --format text, json, markdown, sarif or junit", "%v", err)
	}
	d, err := g.doctorFor(f.include, f.skip)
	if err != nil {
		return err
	}
	defer d.Gatherer.Close()
	var base *diag.Report
	if f.baseline != "" {
		// Read before the sweep: a bad baseline fails fast.
		if base, err = readReport(f.baseline); err != nil {
			return err
		}
	}
	if err := f.notify.prepare(); err != nil {
		return err
	}
	if f.interval != 0 && (f.interval < minInterval || f.from != "") {
		return fail(exitCannot, "pass --interval 10s or more (5m is a good start), on a live node, not with --from", "--interval %v: want at least %v, without --from", f.interval, minInterval)
	}
	for {
		var rep *diag.Report
		if f.from != "" {
			snap, err := readSnapshot(f.from)
			if err != nil {
				return err
			}
			rep = d.Replay(snap, doctor.Progress{})
		} else {
			_, rep = d.Sweep(ctx, doctor.Progress{})
		}
		if base != nil {
			report.MarkNew(rep, base)
		}
		if err := deliver(io, f, format, rep); err != nil {
			return err
		}
		f.notify.send(ctx, io, rep)
		g.exitCode = exitFor(rep)
		if f.interval == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.interval):
		}
	}
}

// minInterval is the shortest --interval: a sweep takes seconds.
const minInterval = 10 * time.Second

// deliver renders the report to stdout or --output, and the metrics to
// --textfile.
func deliver(io streams, f *sweepFlags, format report.Format, rep *diag.Report) error {
	var buf bytes.Buffer
	color := f.output == "" && format == report.FormatText && colorAllowed(io)
	if err := report.Write(&buf, rep, format, report.Options{Color: color, Checks: checks.All()}); err != nil {
		return fail(exitCannot, "", "render report: %v", err)
	}
	if err := emit(io, f.output, buf.Bytes()); err != nil {
		return err
	}
	if f.textfile != "" {
		return writeTextfile(f.textfile, rep)
	}
	return nil
}

// emit writes data to stdout or to path as package outfile does: a file
// is replaced atomically and ends mode 0600, a device or FIFO is written
// as a stream, a link is followed, a directory or socket is refused.
func emit(io streams, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := io.out.Write(data)
		return err
	}
	if err := outfile.Write(path, data); err != nil {
		if errors.Is(err, outfile.ErrRefused) {
			return fail(exitCannot, "--output takes a file (replaced, mode 0600), a FIFO or a character device, or - for stdout", "%v", err)
		}
		return fail(exitCannot, "choose a writable --output path", "%v", err)
	}
	return nil
}

func newSnapshotCmd(io streams, g *globals) *cobra.Command {
	var output, include, skip string
	var redacted bool
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Gather the facts only and write them as a replayable snapshot",
		Long: `Snapshot gathers what the checks need and writes it as JSON, without
judging. 'ksdoctor sweep --from FILE' later gives the same findings as the
live sweep would have.

A snapshot holds the node's raw facts by design (configuration files,
environment, labels, errors), secrets included, so that a replay judges
exactly what the sweep saw: it is written mode 0600. --redact masks the
secrets (package redact's rules) for sharing; the result still loads with
'sweep --from', though a check that reads a masked value may judge it
differently.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fail(exitCannot, "pass --output FILE (or - for stdout)", "snapshot needs --output")
			}
			d, err := g.doctorFor(include, skip)
			if err != nil {
				return err
			}
			defer d.Gatherer.Close()
			snap := d.Gatherer.Collect(cmd.Context(), d.Tool, d.Checks, d.Config, nil)
			if redacted {
				snap = redact.Report(snap)
			} else {
				fmt.Fprintf(io.err, "ksdoctor: note: the snapshot holds raw node facts, secrets included; written mode 0600, use --redact to share it\n")
			}
			data, err := json.MarshalIndent(snap, "", "  ")
			if err != nil {
				return fail(exitCannot, "", "encode snapshot: %v", err)
			}
			if err := emit(io, output, append(data, '\n')); err != nil {
				return err
			}
			if output != "-" {
				fmt.Fprintf(io.err, "ksdoctor: snapshot of %d sources written to %s\n", len(snap.Sources), redact.Line(output))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the snapshot to FILE (mode 0600)")
	cmd.Flags().StringVar(&include, "checks", "", "gather only what these checks need")
	cmd.Flags().StringVar(&skip, "skip", "", "leave out what only these checks need")
	cmd.Flags().BoolVar(&redacted, "redact", false, "mask secrets (keys, tokens, passwords, URL credentials) for sharing")
	return cmd
}

func newChecksCmd(io streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check with its ID, title and sources",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var b bytes.Buffer
			switch format {
			case "text":
				for _, c := range checks.All() {
					fmt.Fprintf(&b, "%-34s %-52s %v\n", c.ID, c.Title, c.Sources())
				}
			case "markdown":
				b.WriteString("# ksdoctor checks\n\nGenerated by `ksdoctor checks --format markdown` (`make docs`).\n\n")
				for _, c := range checks.All() {
					fmt.Fprintf(&b, "## `%s`: %s\n\nSources: %v\n\n%s\n\n", c.ID, c.Title, c.Sources(), strings.TrimSpace(c.Doc))
				}
			default:
				return fail(exitCannot, "use --format text or markdown", "unknown format %q", format)
			}
			_, err := io.out.Write(b.Bytes())
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or markdown")
	return cmd
}
