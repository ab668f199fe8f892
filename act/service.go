package act

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// ServiceManager starts and stops services. Systemctl is the implementation for nodes;
// tests supply one that restarts their own daemons.
type ServiceManager interface {
	DaemonReload(ctx context.Context) error
	Restart(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Start(ctx context.Context, unit string) error
}

// Systemctl drives systemd through the systemctl command (argv only).
type Systemctl struct{}

func (Systemctl) run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// DaemonReload runs systemctl daemon-reload.
func (s Systemctl) DaemonReload(ctx context.Context) error { return s.run(ctx, "daemon-reload") }

// Restart runs systemctl restart UNIT.
func (s Systemctl) Restart(ctx context.Context, unit string) error {
	return s.run(ctx, "restart", "--", unit)
}

// Stop runs systemctl stop UNIT.
func (s Systemctl) Stop(ctx context.Context, unit string) error {
	return s.run(ctx, "stop", "--", unit)
}

// Start runs systemctl start UNIT.
func (s Systemctl) Start(ctx context.Context, unit string) error {
	return s.run(ctx, "start", "--", unit)
}

// services returns the service manager, refusing systemctl under another host root: the
// systemd of this machine is not the node's.
func (e *Executor) services() (ServiceManager, error) {
	if e.Services != nil {
		return e.Services, nil
	}
	if root := filepath.Clean(e.HostRoot); root != "/" && root != "." {
		return nil, fmt.Errorf("cannot manage the node's services from under host root %s: run ksdoctor on the node itself", e.HostRoot)
	}
	return Systemctl{}, nil
}

// touch records an operation on unit and returns how many there were before.
func (e *Executor) touch(unit string, add int) int {
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if e.svcOps == nil {
		e.svcOps = map[string]int{}
	}
	n := e.svcOps[unit]
	e.svcOps[unit] += add
	return n
}

func serviceUnit(st diag.Step) string {
	if st.Service != nil && st.Service.Unit != "" {
		return st.Service.Unit
	}
	return dockerconf.UnitName
}

func daemonReload(ctx context.Context, e *Executor, _ diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	sm, err := e.services()
	if err != nil {
		return "", "", nil, err
	}
	if err := sm.DaemonReload(ctx); err != nil {
		return "", "", nil, err
	}
	return diag.OutcomeDone, "unit files reloaded", nil, nil
}

func restartService(ctx context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	sm, err := e.services()
	if err != nil {
		return "", "", nil, err
	}
	unit := serviceUnit(st)
	e.touch(unit, 1)
	if err := sm.Restart(ctx, unit); err != nil {
		return "", "", nil, fmt.Errorf("restart %s: %w", unit, err)
	}
	return diag.OutcomeDone, "restarted " + unit, nil, nil
}

func stopService(ctx context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	sm, err := e.services()
	if err != nil {
		return "", "", nil, err
	}
	unit := serviceUnit(st)
	e.touch(unit, 1)
	if err := sm.Stop(ctx, unit); err != nil {
		return "", "", nil, fmt.Errorf("stop %s: %w", unit, err)
	}
	return diag.OutcomeDone, "stopped " + unit, func(ctx context.Context) error { return sm.Start(ctx, unit) }, nil
}

func startService(ctx context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	sm, err := e.services()
	if err != nil {
		return "", "", nil, err
	}
	unit := serviceUnit(st)
	e.touch(unit, 1)
	if err := sm.Start(ctx, unit); err != nil {
		return "", "", nil, fmt.Errorf("start %s: %w", unit, err)
	}
	return diag.OutcomeDone, "started " + unit, func(ctx context.Context) error { return sm.Stop(ctx, unit) }, nil
}

// restartOnRollback arms a restart for the rollback: it runs after every later step was
// undone (files restored), so the service comes back with the old configuration.
func restartOnRollback(_ context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	sm, err := e.services()
	if err != nil {
		return "", "", nil, err
	}
	unit := serviceUnit(st)
	armed := e.touch(unit, 0)
	undo := func(ctx context.Context) error {
		if e.touch(unit, 0) == armed {
			return nil // the plan never got to the service: nothing to restart
		}
		if err := sm.DaemonReload(ctx); err != nil {
			return err
		}
		if err := sm.Restart(ctx, unit); err != nil {
			return fmt.Errorf("restart %s with the restored configuration: %w", unit, err)
		}
		return nil
	}
	return diag.OutcomeDone, "a failure from here on restores the files and restarts " + unit, undo, nil
}

// validateDockerConfig resolves the configuration now on disk and refuses when dockerd
// would not start with it.
func validateDockerConfig(_ context.Context, e *Executor, _ diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	f := dockerconf.Resolve(e.root().FS(), nil)
	if f.StartError != "" {
		return "", "", nil, fmt.Errorf("dockerd would refuse to start with the new configuration: %s", f.StartError)
	}
	return diag.OutcomeDone, fmt.Sprintf("the new configuration resolves to %d directives, no conflict", len(f.OnDisk)), nil, nil
}

// pinger is the part of the Docker client that answers /_ping.
type pinger interface {
	Ping(ctx context.Context) (types.Ping, error)
}

// ReadyTimeout bounds the wait for the Docker API after a restart.
var ReadyTimeout = 60 * time.Second

func waitDockerReady(ctx context.Context, e *Executor, _ diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	p, ok := e.Docker.(pinger)
	if !ok || e.Docker == nil {
		return "", "", nil, errors.New("no Docker API client to wait for")
	}
	start := time.Now()
	deadline := start.Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := p.Ping(pctx)
		cancel()
		if err == nil {
			return diag.OutcomeDone, fmt.Sprintf("Docker answered after %s", time.Since(start).Round(10*time.Millisecond)), nil, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", "", nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "", "", nil, fmt.Errorf("Docker did not answer within %s: %w", ReadyTimeout, last)
}
