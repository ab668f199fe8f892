package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/redact"
)

// netFlags are the active probe's flags, taken by sweep and fix.
type netFlags struct {
	probe       bool
	probeImage  string
	probeTarget string
}

func addNetFlags(pf *pflag.FlagSet, f *netFlags) {
	pf.BoolVar(&f.probe, "probe", false, "run the active network probe: a throwaway container on docker0 fetches --probe-target (fix repeats it after applying)")
	pf.StringVar(&f.probeImage, "probe-image", "", "local image with nc for the probe (default "+gather.DefaultProbeImage+"; never pulled)")
	pf.StringVar(&f.probeTarget, "probe-target", "", "HOST:PORT the probe fetches (default the default gateway, port 80)")
}

// apply merges the flags into the configuration (flags win) and copies the
// probe settings into the gatherer's options.
func (f *netFlags) apply(cfg *diag.Config, opts *gather.Options) {
	if f.probe {
		cfg.Net.Probe = true
	}
	if f.probeImage != "" {
		cfg.Net.ProbeImage = f.probeImage
	}
	if f.probeTarget != "" {
		cfg.Net.ProbeTarget = f.probeTarget
	}
	opts.Probe = cfg.Net.Probe
	opts.ProbeImage = cfg.Net.ProbeImage
	opts.ProbeTarget = cfg.Net.ProbeTarget
}

// probeBeforeAfter prints the probe seen before a fix and runs it again
// after, so the user sees the effect on real traffic.
func probeBeforeAfter(ctx context.Context, io streams, d *doctor.Doctor, cand *doctor.Candidate) {
	if !d.Config.Net.Probe {
		return
	}
	var before *diag.NetProbe
	if cand.Snapshot.Network != nil {
		before = cand.Snapshot.Network.Probe
	}
	if before == nil {
		if st := cand.Snapshot.Sources[diag.SourceNetProbe]; st != nil && st.Error != "" {
			fmt.Fprintf(io.out, "probe before: failed: %s\n", redact.Text(st.Error))
		}
		return // this check does not use the probe, or it failed
	}
	snap := d.Gatherer.NewSnapshot(d.Tool)
	d.Gatherer.Gather(ctx, snap, []diag.Source{diag.SourceNetProbe}, nil)
	var after *diag.NetProbe
	if snap.Network != nil {
		after = snap.Network.Probe
	}
	if st := snap.Sources[diag.SourceNetProbe]; after == nil && st != nil && st.Error != "" {
		after = &diag.NetProbe{Skipped: "failed: " + st.Error}
	}
	fmt.Fprintf(io.out, "probe before: %s\nprobe after:  %s\n", redact.Text(before.Describe()), redact.Text(after.Describe()))
}
