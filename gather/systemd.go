package gather

import (
	"context"
	"fmt"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/sdbus"
)

// gatherSystemd asks the node's systemd, over the D-Bus socket under the host
// root, how it holds docker.service: its state, last result, restarts and
// start limit, and the files it loaded the unit from.
func gatherSystemd(ctx context.Context, g *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
	root := g.opts.HostRoot
	if root == "" {
		root = "/"
	}
	bus, err := sdbus.FindSystemdBus(ctx, root)
	if err != nil {
		return nil, err
	}
	u, err := bus.Unit(ctx, dockerconf.UnitName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bus.Describe(), err)
	}
	f := &diag.SystemdFacts{Manager: bus.Describe(), Unit: diag.SystemdUnit{
		Name: u.Name, LoadState: u.LoadState, ActiveState: u.ActiveState, SubState: u.SubState,
		Result: u.Result, FragmentPath: u.FragmentPath, DropInPaths: u.DropInPaths,
		MainPID: u.ExecMainPID, NRestarts: u.NRestarts, StartLimitBurst: u.StartLimitBurst,
		StartLimitIntervalSec: u.StartLimitInterval.Seconds(), NeedDaemonReload: u.NeedDaemonReload,
	}}
	return func(s *diag.Snapshot) { s.Systemd = f }, nil
}
