package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/kubeapi"
	"github.com/ksdoctor/ksdoctor/report/validate"
)

type fleetFlags struct {
	allNodes                bool
	nodes                   []string
	nodeSelector, namespace string
	image, jobTemplate      string
	nodeTimeout             time.Duration
	cmd                     *cobra.Command // to tell a --format given from the default
}

// fleetHooks let tests on an apiserver without kubelets feed the pod logs
// and count requests; the command uses pods/log and the plain transport.
var fleetHooks struct {
	logs func(*kubeapi.Clientset) fleet.LogReader
	wrap func(http.RoundTripper) http.RoundTripper
}

func addFleetFlags(cmd *cobra.Command) *fleetFlags {
	ff := &fleetFlags{cmd: cmd}
	fl := cmd.Flags()
	fl.BoolVar(&ff.allNodes, "all-nodes", false, "sweep every selected node of the cluster through one Job per node and merge the reports")
	fl.StringSliceVar(&ff.nodes, "nodes", nil, "with --all-nodes: only these node names (comma-separated)")
	fl.StringVar(&ff.nodeSelector, "node-selector", "", "with --all-nodes: only nodes with these labels (a label selector)")
	fl.StringVarP(&ff.namespace, "namespace", "n", "ksdoctor", "with --all-nodes: namespace of the Jobs (deploy/fleet makes it)")
	fl.StringVar(&ff.image, "image", "ksdoctor:"+version, "with --all-nodes: the ksdoctor image the Jobs run")
	fl.DurationVar(&ff.nodeTimeout, "node-timeout", 2*time.Minute, "with --all-nodes: give up on a node that has not answered after this long")
	fl.StringVar(&ff.jobTemplate, "job-template", "", "with --all-nodes: a Job YAML whose pod spec is merged over ksdoctor's (registry, PodSecurity, node OS)")
	return ff
}

// unused refuses the fleet flags without --all-nodes (they would be
// silently ignored by a sweep of this node).
func (ff *fleetFlags) unused(cmd *cobra.Command) error {
	for _, name := range []string{"nodes", "node-selector", "namespace", "image", "node-timeout", "job-template"} {
		if cmd.Flags().Changed(name) {
			return fail(exitCannot, "add --all-nodes to sweep the cluster's nodes", "--%s applies to --all-nodes only", name)
		}
	}
	return nil
}

// clusterOnly is the checks that read the cluster, run once by the command.
func clusterOnly() []diag.Check {
	var out []diag.Check
	for _, c := range checks.All() {
		for _, s := range c.Needs {
			if s == diag.SourceCluster {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func runFleet(ctx context.Context, io streams, g *globals, f *sweepFlags, ff *fleetFlags) error {
	if f.format != "text" && f.format != "json" && f.format != "markdown" {
		return fail(exitCannot, "use --format text, json or markdown", "unknown format %q", f.format)
	}
	if f.from != "" || f.include != "" || f.skip != "" {
		return fail(exitCannot, "leave out --from, --checks and --skip with --all-nodes", "--all-nodes sweeps live nodes with every check")
	}
	if ff.nodeTimeout <= 0 {
		return fail(exitCannot, "pass a positive --node-timeout, e.g. 2m", "--node-timeout %s", ff.nodeTimeout)
	}
	var tmpl *fleet.Template
	if ff.jobTemplate != "" {
		var err error
		if tmpl, err = fleet.LoadTemplate(ff.jobTemplate); err != nil {
			return fail(exitCannot, "--job-template takes a batch/v1 Job whose pod spec keeps a container named ksdoctor", "%v", err)
		}
	}
	var kopts gather.Options
	if err := g.kubeOptions(&kopts); err != nil {
		return err
	}
	kc, err := gather.NewKubeClient(kopts)
	if err != nil {
		if errors.Is(err, gather.ErrNoKubeconfig) {
			return fail(exitCannot, "pass --kubeconfig (and --context) for the cluster to sweep", "%v", err)
		}
		return fail(exitCannot, "check --kubeconfig and --context", "%v", err)
	}
	cfg := kc.Config
	if fleetHooks.wrap != nil {
		cfg.Wrap(fleetHooks.wrap)
	}
	cs, err := kubeapi.NewForConfig(cfg)
	if err != nil {
		return fail(exitCannot, "", "%v", err)
	}
	d, err := g.newDoctor(clusterOnly())
	if err != nil {
		return err
	}
	defer d.Gatherer.Close()
	_, clusterRep := d.Sweep(ctx, doctor.Progress{})
	var logs fleet.LogReader = fleet.APILogs{Client: cs}
	if fleetHooks.logs != nil {
		logs = fleetHooks.logs(cs)
	}
	rep, err := fleet.Run(ctx, fleet.Options{
		Client: cs, Namespace: ff.namespace, Image: ff.image, Nodes: ff.nodes, NodeSelector: ff.nodeSelector,
		NodeTimeout: ff.nodeTimeout, Template: tmpl, Logs: logs, Validate: validate.Report,
		Tool: diag.Tool{Name: "ksdoctor", Version: version}, Cluster: clusterRep,
	})
	if err != nil {
		hint := "deploy/fleet holds the namespace and the RBAC the command needs"
		if ctx.Err() != nil {
			hint = "interrupted: the Jobs and pods this sweep created were deleted"
		}
		return fail(exitCannot, hint, "fleet sweep: %v", err)
	}
	if ff.onTerminal(io, f) {
		return showFleet(ctx, io, g, rep, "")
	}
	var buf bytes.Buffer
	if err := fleet.Write(&buf, rep, f.format); err != nil {
		return fail(exitCannot, "", "render fleet report: %v", err)
	}
	if err := emit(io, f.output, buf.Bytes()); err != nil {
		return err
	}
	g.exitCode = rep.Summary.ExitCode
	if rep.Summary.Answered == 0 && rep.Summary.Nodes > 0 {
		fmt.Fprintf(io.err, "ksdoctor: no node answered; the report says why for each\n")
	}
	return nil
}
