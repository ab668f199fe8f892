package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
)

type fixFlags struct {
	dryRun, yes bool
	// to and symlink are inputs of disk.docker-root-usage/migrate.
	to      string
	symlink bool
}

// inputs are the values remediations asked for (Remediation.Input).
func (f *fixFlags) inputs() map[string]string {
	in := map[string]string{}
	if f.to != "" {
		in[diag.InputTo] = f.to
	}
	if f.symlink {
		in[diag.InputSymlink] = "true"
	}
	if len(in) == 0 {
		return nil
	}
	return in
}

func newFixCmd(io streams, g *globals) *cobra.Command {
	f := &fixFlags{}
	cmd := &cobra.Command{
		Use:   "fix REMEDIATION_ID...",
		Short: "Apply remediations after a fresh look at the node",
		Long: `Fix sweeps again with only the check that offers each remediation, prints
exactly what will be done, asks y/N on a terminal, applies it, and runs the
check again to verify. Without a terminal it refuses unless --yes is given.
--dry-run only prints the preview.

--timeout bounds the whole fix: the fresh look, the apply and the re-check.
When it passes, steps in flight are reported "unknown" (they may or may
not have taken effect), steps never begun "not started", the journal
records "timed out", and the exit code is 4. A transactional plan then
gets up to 10s more to roll back what it did.

Exit code 0 when every fix verified, 4 when one was refused, failed, timed
out or did not verify, 3 when it could not run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFix(cmd.Context(), io, g, f, args)
		},
	}
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the preview only")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "apply without asking")
	cmd.Flags().StringVar(&f.to, "to", "", "new data-root directory, for disk.docker-root-usage/migrate")
	cmd.Flags().BoolVar(&f.symlink, "symlink", false, "with --to: leave the old data-root path as a symlink instead of changing data-root")
	return cmd
}

func runFix(ctx context.Context, io streams, g *globals, f *fixFlags, ids []string) error {
	for _, id := range ids {
		if _, ok := checks.ByID(diag.CheckIDFromRemediation(id)); !ok || !strings.Contains(id, "/") {
			return fail(exitCannot, "remediation IDs look like CHECK-ID/ACTION; 'ksdoctor sweep' lists them", "unknown remediation %q", id)
		}
	}
	d, err := g.newDoctor(nil)
	if err != nil {
		return err
	}
	defer d.Gatherer.Close()
	connectExecutor(d)
	if g.timeout > 0 {
		// --timeout bounds the whole fix, apply included (Executor.Apply
		// stops at the deadline; a transactional plan still rolls back).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	in := bufio.NewReader(io.in)
	failed := false
	for _, id := range ids {
		cand, err := d.Prepare(ctx, id, f.inputs())
		var nn *doctor.NotNeededError
		if errors.As(err, &nn) {
			fmt.Fprintf(io.out, "%s: nothing to do: %s\n", id, redact.Text(err.Error()))
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return fail(exitFixFail, "give it more time with --timeout", "%s: timed out before the fix could be prepared: %v", id, err)
			}
			return fail(exitFixFail, "run 'ksdoctor sweep' to see the node's state", "%s: %v", id, err)
		}
		// What is printed is masked and terminal-safe; cand stays raw,
		// it is what gets applied.
		rem := redact.Copy(cand.Remediation, redact.Text)
		if rem.Input == nil && len(rem.Plan.Steps) == 0 {
			return fail(exitFixFail, "", "%s: %s", id, rem.Preview)
		}
		if rem.Input != nil && len(rem.Plan.Steps) == 0 {
			if f.inputs()[rem.Input.Name] != "" {
				return fail(exitFixFail, "choose another --"+rem.Input.Name, "%s: %s", id, rem.Preview)
			}
			fmt.Fprintf(io.out, "%s\n\n%s\n", rem.Title, rem.Preview)
			return fail(exitFixFail, "give the value with --"+rem.Input.Name, "%s needs %s: %s", id, rem.Input.Name, rem.Input.Prompt)
		}
		fmt.Fprintf(io.out, "%s (%s risk)\nFinding: %s\n\n%s\n\n", rem.Title, rem.Risk, redact.Text(cand.Finding.Title), rem.Preview)
		if f.dryRun {
			fmt.Fprintf(io.out, "dry run: nothing changed\n")
			continue
		}
		if !f.yes {
			if !io.isTerminal(io.in) {
				return fail(exitFixFail, "pass --yes to apply without a terminal, or --dry-run to preview", "refusing to apply %s without confirmation: stdin is not a terminal", id)
			}
			ok, err := confirm(io, in, rem, cand)
			if err != nil {
				return fail(exitFixFail, "", "read confirmation: %v", err)
			}
			if !ok {
				fmt.Fprintf(io.out, "not applied\n")
				failed = true
				continue
			}
		}
		res := d.Apply(ctx, cand)
		printResult(io, res)
		probeBeforeAfter(ctx, io, d, cand)
		if res.Error != "" || !res.Verified {
			failed = true
		}
	}
	if failed {
		g.exitCode = exitFixFail
	}
	return nil
}

// confirm asks y/N; high-risk remediations need the node's hostname typed.
func confirm(io streams, in *bufio.Reader, rem diag.Remediation, cand *doctor.Candidate) (bool, error) {
	want := "y"
	if rem.Risk == diag.RiskHigh {
		host := ""
		if cand.Snapshot.Host != nil {
			host = cand.Snapshot.Host.Hostname
		}
		if host == "" {
			host = "yes"
		}
		want = host
		fmt.Fprintf(io.out, "This is a high-risk change. Type the node's hostname (%s) to apply: ", redact.Line(host))
	} else {
		fmt.Fprintf(io.out, "Apply? [y/N] ")
	}
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	line = strings.TrimSpace(line)
	if want == "y" {
		return line == "y" || line == "Y" || line == "yes", nil
	}
	return line == want, nil
}

// serviceOutcome are step kinds whose detail is printed even when done: what
// a restart did (how long Docker took to answer, the containers running
// before and after it, a reset start limit) is part of the result.
var serviceOutcome = map[diag.StepKind]bool{
	diag.StepDockerWaitReady:    true,
	diag.StepServiceResetFailed: true,
}

func printResult(io streams, raw *diag.ApplyResult) {
	res := redact.Copy(raw, redact.Text)
	fmt.Fprintf(io.out, "%s: %d done, %d skipped, %d already done, %d failed, %d unknown in %.0f ms\n", res.RemediationID,
		res.Count(diag.OutcomeDone), res.Count(diag.OutcomeSkipped), res.Count(diag.OutcomeNoop), res.Count(diag.OutcomeFailed),
		res.Count(diag.OutcomeUnknown), res.DurationMs)
	for _, s := range res.Steps {
		switch {
		case s.Outcome == diag.OutcomeSkipped, s.Outcome == diag.OutcomeFailed, s.Outcome == diag.OutcomeUnknown, serviceOutcome[s.Step.Kind]:
			fmt.Fprintf(io.out, "  %s: %s: %s\n", s.Outcome, s.Step.Description, s.Detail)
		}
	}
	if n := res.Count(diag.OutcomeNotStarted); n > 0 {
		fmt.Fprintf(io.out, "  %d step(s) not started\n", n)
	}
	if res.Error != "" {
		fmt.Fprintf(io.out, "error: %s\n", res.Error)
	}
	if res.RolledBack {
		fmt.Fprintf(io.out, "rolled back\n")
	}
	verdict := "NOT verified"
	if res.Verified {
		verdict = "verified"
	}
	fmt.Fprintf(io.out, "%s: %s\n", verdict, res.VerifyDetail)
}
