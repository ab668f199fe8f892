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
	"github.com/ksdoctor/ksdoctor/sdbus"
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

// ResetFailed runs systemctl reset-failed UNIT.
func (s Systemctl) ResetFailed(ctx context.Context, unit string) error {
	return s.run(ctx, "reset-failed", "--", unit)
}

// Stop runs systemctl stop UNIT.
func (s Systemctl) Stop(ctx context.Context, unit string) error {
	return s.run(ctx, "stop", "--", unit)
}

// Start runs systemctl start UNIT.
func (s Systemctl) Start(ctx context.Context, unit string) error {
	return s.run(ctx, "start", "--", unit)
}

// services returns the node's service manager: systemd over D-Bus, its bus
// found under the host root (so a pod that mounts the host acts through the
// host's PID 1); systemctl's argv is the named fallback on the node itself
// (host root /) when no bus socket answers. Under another host root without
// a bus, service actions are refused: this machine's systemd is not the node's.
func (e *Executor) services(ctx context.Context) (ServiceManager, error) {
	if e.Services != nil {
		return e.Services, nil
	}
	e.svcMu.Lock()
	defer e.svcMu.Unlock()
	if e.svc != nil {
		return e.svc, nil
	}
	bus, err := sdbus.FindSystemdBus(ctx, e.HostRoot)
	if err == nil {
		e.svc = bus
		return bus, nil
	}
	if root := filepath.Clean(e.HostRoot); root != "/" && root != "." {
		return nil, fmt.Errorf("cannot manage the node's services from under host root %s: %w; mount the host's /run (with /run/systemd/private or /run/dbus/system_bus_socket) inside the host root", e.HostRoot, err)
	}
	if _, lerr := exec.LookPath("systemctl"); lerr != nil {
		return nil, fmt.Errorf("no way to manage services: %w, and no systemctl on PATH", err)
	}
	e.svc = Systemctl{}
	return e.svc, nil
}

// touch records an operation of this plan on unit and returns how many
// there were before.
func (e *execution) touch(unit string, add int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
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

func daemonReload(ctx context.Context, e *execution, _ diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
	}
	if err := sm.DaemonReload(ctx); err != nil {
		return effect{}, err
	}
	return done("unit files reloaded", nil), nil
}

func restartService(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
	}
	unit := serviceUnit(st)
	if err := checkUnitAgrees(ctx, e.Executor, sm, unit); err != nil {
		return effect{}, err
	}
	e.noteRunningBefore(ctx)
	e.touch(unit, 1)
	if err := sm.Restart(ctx, unit); err != nil {
		return effect{}, err
	}
	return done("restarted "+unit, nil), nil
}

func stopService(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
	}
	unit := serviceUnit(st)
	e.touch(unit, 1)
	if err := sm.Stop(ctx, unit); err != nil {
		return effect{}, fmt.Errorf("stop %s: %w", unit, err)
	}
	return done("stopped "+unit, func(ctx context.Context) error { return sm.Start(ctx, unit) }), nil
}

func startService(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
	}
	unit := serviceUnit(st)
	e.touch(unit, 1)
	if err := sm.Start(ctx, unit); err != nil {
		return effect{}, fmt.Errorf("start %s: %w", unit, err)
	}
	return done("started "+unit, func(ctx context.Context) error { return sm.Stop(ctx, unit) }), nil
}

// resetFailed clears the unit's failed state and start-limit counter, a step
// the plan shows when systemd said the unit had used up its start limit.
func resetFailed(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
	}
	rs, ok := sm.(failedResetter)
	if !ok {
		return effect{}, fmt.Errorf("the service manager cannot reset-failed %s", serviceUnit(st))
	}
	unit := serviceUnit(st)
	if err := rs.ResetFailed(ctx, unit); err != nil {
		return effect{}, err
	}
	return done("reset the failed state and start limit of "+unit, nil), nil
}

// restartOnRollback arms a restart for the rollback: it runs after every later step was
// undone (files restored), so the service comes back with the old configuration.
func restartOnRollback(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	sm, err := e.services(ctx)
	if err != nil {
		return effect{}, err
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
		err := sm.Restart(ctx, unit)
		var ue *sdbus.UnitError
		if rs, ok := sm.(failedResetter); ok && errors.As(err, &ue) && ue.State.InStartLimit() {
			// The failed restarts used up the unit's start limit: clear it, as the
			// preview said, and try once more with the restored files.
			if rerr := rs.ResetFailed(ctx, unit); rerr != nil {
				return fmt.Errorf("restart %s with the restored configuration: %w; then %w", unit, err, rerr)
			}
			err = sm.Restart(ctx, unit)
		}
		if err != nil {
			return restoredStartError(e, unit, fmt.Errorf("restart %s with the restored configuration: %w", unit, err))
		}
		return nil
	}
	return done("a failure from here on restores the files and restarts "+unit+" (resetting its start limit if the failure used it up)", undo), nil
}

// restoredStartError adds to a failed restart of docker with the restored
// files whether those files themselves keep dockerd from starting (a
// dedupe's rollback puts a conflict back): then no restart brings docker
// back, and the user must know it is down until the files are fixed.
func restoredStartError(e *execution, unit string, err error) error {
	if unit != dockerconf.UnitName {
		return err
	}
	if f := dockerconf.Resolve(e.root().FS(), nil); f.StartError != "" {
		return fmt.Errorf("%w; the restored files themselves make dockerd refuse to start (%s): docker stays down until they are fixed by hand", err, f.StartError)
	}
	return err
}

// validateDockerConfig resolves the configuration now on disk and refuses when dockerd
// would not start with it.
func validateDockerConfig(_ context.Context, e *execution, _ diag.Step) (effect, error) {
	f := dockerconf.Resolve(e.root().FS(), nil)
	if f.StartError != "" {
		return effect{}, fmt.Errorf("dockerd would refuse to start with the new configuration: %s", f.StartError)
	}
	return done(fmt.Sprintf("the new configuration resolves to %d directives, no conflict", len(f.OnDisk)), nil), nil
}

// pinger is the part of the Docker client that answers /_ping.
type pinger interface {
	Ping(ctx context.Context) (types.Ping, error)
}

// ReadyTimeout bounds the wait for the Docker API after a restart.
var ReadyTimeout = 60 * time.Second

func waitDockerReady(ctx context.Context, e *execution, _ diag.Step) (effect, error) {
	p, ok := e.Docker.(pinger)
	if !ok || e.Docker == nil {
		return effect{}, errors.New("no Docker API client to wait for")
	}
	start := time.Now()
	deadline := start.Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := p.Ping(pctx)
		cancel()
		if err == nil {
			return done(fmt.Sprintf("Docker answered after %s", time.Since(start).Round(10*time.Millisecond))+e.blastRadiusOutcome(ctx), nil), nil
		}
		last = err
		select {
		case <-ctx.Done():
			return effect{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return effect{}, fmt.Errorf("Docker did not answer within %s: %w", ReadyTimeout, last)
}
