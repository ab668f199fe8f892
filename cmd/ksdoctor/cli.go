package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/redact"
)

// version is stamped by the Makefile.
var version = "dev"

// Exit codes. A sweep's code is ordered 2 > 5 > 1 > 0: a critical finding
// is never hidden by a check that could not judge, and a check that could
// not judge is never hidden by a warning.
const (
	exitOK       = 0 // no finding at warning or above, every check judged
	exitWarning  = 1 // the worst finding is a warning
	exitCritical = 2 // the worst finding is critical
	exitCannot   = 3 // the sweep could not run: bad flags, config or snapshot
	exitFixFail  = 4 // a fix was refused, failed, timed out or did not verify
	exitErrored  = 5 // a check could not judge (status error), nothing critical
)

// exitCodeHelp is the exit code table for --help.
const exitCodeHelp = `Exit codes:
  0  no finding at warning or above, and every check could judge
  1  the worst finding is a warning
  2  the worst finding is critical
  3  ksdoctor could not run (bad flags, unreadable config or snapshot)
  4  fix: a remediation was refused, failed, timed out or did not verify
  5  a check could not judge (a source failed, timed out or held nothing)
A sweep's code is the first that applies in the order 2, 5, 1, 0: a
critical finding is never hidden by a check that could not judge.`

// cliError is an error with a hint and an exit code.
type cliError struct {
	err  error
	hint string
	code int
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

func fail(code int, hint string, format string, args ...any) error {
	return &cliError{err: fmt.Errorf(format, args...), hint: hint, code: code}
}

// streams are the process's standard files, injected for tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func (s streams) isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// globals are the flags every command takes.
type globals struct {
	hostRoot   string
	dockerHost string
	timeout    time.Duration
	configPath string
	pidFile    string
	net        netFlags
	kubeconfig string
	kubeCtx    string
	kube       kubeFlags
	noIgnore   bool
	exitCode   int // set by commands that report findings
}

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	io := streams{in: in, out: out, err: errw}
	g := &globals{}
	root := newRoot(io, g)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errw)
	if err := root.ExecuteContext(ctx); err != nil {
		var ce *cliError
		code, hint := exitCannot, ""
		if errors.As(err, &ce) {
			code, hint = ce.code, ce.hint
		} else if strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "arg(s)") {
			hint = "run 'ksdoctor --help' for usage"
		}
		// Errors quote node data and flags (a --docker-host with a
		// password): masked, and control characters made visible.
		fmt.Fprintf(errw, "ksdoctor: error: %s\n", redact.Text(err.Error()))
		if hint != "" {
			fmt.Fprintf(errw, "ksdoctor: hint: %s\n", redact.Text(hint))
		}
		return code
	}
	return g.exitCode
}

func newRoot(io streams, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ksdoctor",
		Short: "A node doctor for Kubernetes and KubeSphere nodes that run Docker",
		Long: `ksdoctor sweeps this node (and, with a kubeconfig, the cluster) for known
failure modes, reports the findings, and fixes each one inside a safety
envelope: preview, confirm, apply, re-check.

` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDefault(cmd, io, g)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.hostRoot, "host-root", "/", "prefix for every host path (e.g. /host inside a pod)")
	defHost := os.Getenv("DOCKER_HOST")
	if defHost == "" {
		defHost = client.DefaultDockerHost
	}
	pf.StringVar(&g.dockerHost, "docker-host", defHost, "Docker Engine address")
	pf.DurationVar(&g.timeout, "timeout", 0, "deadline for the whole sweep (default from config, 30s)")
	pf.StringVar(&g.configPath, "config", "", "YAML file with thresholds and options")
	pf.BoolVar(&g.noIgnore, "no-ignore", false, "apply no suppression from the configuration: show every finding as found")
	pf.StringVar(&g.pidFile, "dockerd-pidfile", "/var/run/docker.pid", "dockerd's pidfile, as a path on the node")
	addNetFlags(pf, &g.net)
	addKubeFlags(pf, g)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fail(exitCannot, "run 'ksdoctor --help' for usage", "%v", err)
	})
	root.AddCommand(newSweepCmd(io, g), newSnapshotCmd(io, g), newFixCmd(io, g), newChecksCmd(io), newTUICmd(io, g))
	root.AddCommand(newJournalCmd(io, g), newDiffCmd(io, g))
	root.AddCommand(newNPDCmd(io, g))
	finishRoot(root, io, g)
	return root
}

// runDefault is what plain "ksdoctor" does: the terminal UI when stdin and
// stdout are terminals, otherwise a sweep with the defaults.
func runDefault(cmd *cobra.Command, io streams, g *globals) error {
	if io.isTerminal(io.in) && io.isTerminal(io.out) {
		return runTUI(cmd.Context(), io, g, &tuiFlags{exportDir: "."})
	}
	return runSweep(cmd.Context(), io, g, &sweepFlags{format: "text"})
}

// newDoctor builds the doctor for the selected checks.
func (g *globals) newDoctor(selected []diag.Check) (*doctor.Doctor, error) {
	cfg, err := load.Config(g.configPath)
	if err != nil {
		return nil, fail(exitCannot, "fix the configuration file or leave out --config", "%v", err)
	}
	if g.noIgnore {
		cfg.Suppressions = nil
	}
	if fi, err := os.Stat(g.hostRoot); err != nil || !fi.IsDir() {
		return nil, fail(exitCannot, "--host-root must be a directory holding the node's filesystem", "host root %s is not a directory", g.hostRoot)
	}
	timeout := cfg.Timeouts.Sweep.Duration
	if g.timeout > 0 {
		timeout = g.timeout
	}
	gopts := gather.Options{
		HostRoot:       g.hostRoot,
		DockerHost:     g.dockerHost,
		SourceTimeout:  min(cfg.Timeouts.Source.Duration, timeout),
		SweepTimeout:   timeout,
		DockerdPIDFile: g.pidFile,
	}
	if err := g.kubeOptions(&gopts); err != nil {
		return nil, err
	}
	g.net.apply(cfg, &gopts)
	if gopts.ProbeTarget != "" {
		// It becomes argv of nc in the probe container.
		if err := gather.ValidateProbeTarget(gopts.ProbeTarget); err != nil {
			return nil, fail(exitCannot, "pass --probe-target HOST:PORT, HOST an IP address or a DNS name, e.g. 10.0.0.1:80", "%v", err)
		}
	}
	return &doctor.Doctor{
		Tool:     diag.Tool{Name: "ksdoctor", Version: version},
		Checks:   selected,
		Config:   cfg,
		Gatherer: gather.New(gopts),
		Executor: &act.Executor{HostRoot: g.hostRoot},
	}, nil
}

// connectExecutor gives the doctor's executor its Docker and Kubernetes
// clients. Only the commands that apply fixes call it: a sweep, a replay
// (--from), a snapshot or a read-only UI never build them, so they pay
// neither the kubeconfig loading nor the clients' set-up at start.
func connectExecutor(d *doctor.Doctor) {
	if cli, err := d.Gatherer.DockerClient(); err == nil {
		d.Executor.Docker = cli
	}
	if kc, err := gather.NewKubeClient(d.Gatherer.Options()); err == nil {
		d.Executor.Kube = kc.Clientset
	}
}

func splitIDs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// doctorFor builds the doctor for the checks selected by --checks/--skip.
func (g *globals) doctorFor(include, skip string) (*doctor.Doctor, error) {
	sel, err := selectChecks(include, skip)
	if err != nil {
		return nil, err
	}
	return g.newDoctor(sel)
}

// readSnapshot reads a --from file, as an error with a hint on failure.
func readSnapshot(path string) (*diag.Snapshot, error) {
	snap, err := load.Snapshot(path)
	if err != nil {
		return nil, fail(exitCannot, "pass a file written by 'ksdoctor snapshot --output FILE'", "%v", err)
	}
	return snap, nil
}

func selectChecks(include, skip string) ([]diag.Check, error) {
	sel, err := diag.Select(checks.All(), splitIDs(include), splitIDs(skip))
	if err != nil {
		return nil, fail(exitCannot, "run 'ksdoctor checks' to list the check IDs", "%v", err)
	}
	return sel, nil
}

// exitFor maps a report to the exit code, ordered 2 (critical) > 5 (a
// check could not judge) > 1 (warning) > 0.
func exitFor(r *diag.Report) int {
	worst := r.Summary.Worst()
	switch {
	case worst == diag.Critical:
		return exitCritical
	case r.Summary.WithChecks(r.Checks).Errored > 0:
		return exitErrored
	case worst == diag.Warning:
		return exitWarning
	}
	return exitOK
}

func colorAllowed(io streams) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return io.isTerminal(io.out)
}
