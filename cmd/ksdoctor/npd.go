package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/npd"
)

type npdFlags struct {
	from      string
	maxOutput int
	deadline  time.Duration
}

// npdDefaultDeadline is below NPD's default plugin timeout (5s), so a slow
// node gets ksdoctor's own Unknown with the reason instead of NPD's kill.
const npdDefaultDeadline = 4 * time.Second

func newNPDCmd(io streams, g *globals) *cobra.Command {
	f := &npdFlags{}
	cmd := &cobra.Command{
		Use:   "npd CHECK-ID...",
		Short: "Answer as a node-problem-detector custom plugin for the given checks",
		Long: `npd runs the named checks and answers as node-problem-detector's custom
plugin monitor expects: one line on stdout and exit 0 (OK), 1 (NonOK: a
finding at warning or above) or 2 (Unknown: a check could not judge,
nothing was judged, or ksdoctor could not run). A check that could not
judge is never OK. deploy/npd/ holds the monitor config and the DaemonSet
notes.

The line leads with what matters (verdict, worst finding ID, count) and
never exceeds --max-output bytes, NPD's max_output_length: NPD cuts there.
--deadline must stay below the rule's timeout in NPD's config: past it
ksdoctor answers Unknown with the reason, before NPD would kill it.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			status, msg := runNPD(cmd.Context(), g, f, args)
			fmt.Fprintln(io.out, npd.Line(msg, f.maxOutput))
			g.exitCode = int(status)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.maxOutput, "max-output", npd.DefaultMaxOutput, "longest line in bytes: NPD's max_output_length")
	fl.DurationVar(&f.deadline, "deadline", npdDefaultDeadline, "answer by then (Unknown if not judged): keep it below the rule's timeout in NPD's config")
	fl.StringVar(&f.from, "from", "", "judge a recorded snapshot instead of this node")
	return cmd
}

// runNPD sweeps for ids and judges. Every failure, flags included, is an
// Unknown with its reason: NPD shows stdout, not stderr, in the condition.
func runNPD(ctx context.Context, g *globals, f *npdFlags, ids []string) (npd.Status, string) {
	if len(ids) == 0 {
		return npd.Unknown, "unknown: ksdoctor npd needs check IDs (ksdoctor checks lists them)"
	}
	if f.deadline <= 0 {
		return npd.Unknown, "unknown: --deadline must be positive"
	}
	if g.timeout == 0 || g.timeout > f.deadline*9/10 {
		// The sweep's own deadline: the gatherers give up in time for the
		// checks to say why, and for the line to be written.
		g.timeout = f.deadline * 9 / 10
	}
	sel, err := diag.Select(checks.All(), ids, nil)
	if err != nil {
		return npd.Unknown, "unknown: " + err.Error()
	}
	d, err := g.newDoctor(sel)
	if err != nil {
		return npd.Unknown, "unknown: " + err.Error()
	}
	type answer struct {
		status npd.Status
		msg    string
	}
	done := make(chan answer, 1)
	go func() {
		var rep *diag.Report
		if f.from != "" {
			snap, err := load.Snapshot(f.from)
			if err != nil {
				done <- answer{npd.Unknown, "unknown: " + err.Error()}
				return
			}
			rep = d.Replay(snap, doctor.Progress{})
		} else {
			_, rep = d.Sweep(ctx, doctor.Progress{})
		}
		s, m := npd.Judge(rep, ids)
		done <- answer{s, m}
	}()
	timer := time.NewTimer(f.deadline)
	defer timer.Stop()
	select {
	case a := <-done:
		d.Gatherer.Close()
		return a.status, a.msg
	case <-timer.C:
		// A backstop: the sweep's deadline should have ended it already.
		// The gatherers are left to the process's exit, not closed under
		// a sweep still running.
		return npd.Unknown, fmt.Sprintf("unknown: no verdict within the %v deadline", f.deadline)
	case <-ctx.Done():
		return npd.Unknown, "unknown: interrupted"
	}
}
