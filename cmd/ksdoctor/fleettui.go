package main

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report/validate"
	"github.com/ksdoctor/ksdoctor/tui"
)

// readFleetFrom reads a tui --from file when it is a fleet report (its
// "kind" is "fleet"); ok is false for anything else (a snapshot).
func readFleetFrom(path string) (rep *fleet.Report, ok bool, err error) {
	const hint = "pass a snapshot ('ksdoctor snapshot --output FILE') or a fleet report ('ksdoctor sweep --all-nodes --format json --output FILE')"
	data, err := readUserFile(path, "file", hint)
	if err != nil {
		return nil, false, err
	}
	name := redact.Line(path)
	var head struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(data, &head) != nil || head.Kind != "fleet" {
		return nil, false, nil
	}
	var r fleet.Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, false, fail(exitCannot, hint, "%s is not a valid fleet report: %v", name, err)
	}
	if r.SchemaVersion != 1 {
		return nil, false, fail(exitCannot, hint, "%s: fleet report schema version %d, this ksdoctor reads 1", name, r.SchemaVersion)
	}
	// Node reports are the nodes' own words: each is held to the report
	// schema, as the sweep held them when they came back.
	for _, n := range r.Nodes {
		if n.Report == nil {
			continue
		}
		doc, err := json.Marshal(n.Report)
		if err == nil {
			err = validate.Report(doc)
		}
		if err != nil {
			return nil, false, fail(exitCannot, hint, "%s: the report of node %s is not valid: %v", name, redact.Line(n.Name), err)
		}
	}
	return &r, true, nil
}

// showFleet opens the fleet view of rep (tui --from FLEET.json, or sweep
// --all-nodes on a terminal); the exit code is the report's.
func showFleet(ctx context.Context, io streams, g *globals, rep *fleet.Report, path string) error {
	if err := tui.RunFleet(ctx, rep, tui.FleetOptions{Path: path, Checks: checks.All()}, io.in, io.out); err != nil {
		return fail(exitCannot, "pass --format text for a plain report", "%v", err)
	}
	g.exitCode = rep.Summary.ExitCode
	return nil
}

// fleetOnTerminal says whether sweep --all-nodes shows its report in the
// fleet view: on a terminal, without --format or --output.
func (ff *fleetFlags) onTerminal(io streams, f *sweepFlags) bool {
	return ff.cmd != nil && !ff.cmd.Flags().Changed("format") && f.output == "" &&
		io.isTerminal(io.in) && io.isTerminal(io.out)
}
