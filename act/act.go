package act

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// Executor applies plans. Its dependencies are fields, set by the caller.
type Executor struct {
	// Docker is the Docker Engine API (nil when unreachable).
	Docker DockerAPI
	// Kube is the Kubernetes API (nil when no cluster is configured).
	Kube kubeapi.Interface
	// HostRoot prefixes every host path.
	HostRoot string
	// Workers bounds concurrent steps of one kind (default: the kind's own
	// bound, 32 for most).
	Workers int
	// Services manages the node's services (nil: systemd over D-Bus found
	// under the host root, or systemctl with host root /).
	Services ServiceManager
	// IPTables changes the firewall rules (nil: go-iptables, IPv4).
	IPTables IPTables
	// CopyTree copies a data-root for a migration (nil: RsyncCopy).
	CopyTree func(ctx context.Context, from, to string) error
	// RollbackGrace bounds the rollback of a transactional plan stopped by
	// its deadline (0: DefaultRollbackGrace).
	RollbackGrace time.Duration

	svcMu sync.Mutex
	// svc is the service manager found for this executor (see services).
	svc ServiceManager
}

// kinds is the explicit registry of step kinds this executor applies.
var kinds = map[diag.StepKind]kindDef{
	// 8 removals in flight. dockerd removes a container's writable and
	// -init layers under its layer store's one mount lock
	// (layerStore.ReleaseRWLayer holds mountL across driver.Remove), so
	// removals are done one at a time whatever the client sends; 8 keep
	// that lock busy while the next requests are parsed and looked up.
	// `docker rm A B C…` sends 50 (docker/cli's parallelOperation): the
	// other 42 only queue on the lock, each holding a connection and a
	// goroutine in both processes. Measured against 50 on a real dockerd
	// (docs/bench.md, exited containers), the wall time is the same
	// within the noise: the lock sets it.
	diag.StepRemoveContainer: {apply: removeContainer, parallel: true, workers: 8},
	diag.StepRemoveImage:     {apply: removeImage, parallel: true},
	diag.StepPruneBuildCache: {apply: pruneBuildCache},
	diag.StepIPTablesRule:    {apply: addIPTablesRule},
	diag.StepSysctlSet:       {apply: setSysctl},
	diag.StepSysctlPersist:   {apply: persistSysctl},

	diag.StepFileEdit:                 {apply: editFile},
	diag.StepServiceDaemonReload:      {apply: daemonReload},
	diag.StepServiceRestart:           {apply: restartService},
	diag.StepServiceStop:              {apply: stopService},
	diag.StepServiceStart:             {apply: startService},
	diag.StepServiceRestartOnRollback: {apply: restartOnRollback},
	diag.StepServiceResetFailed:       {apply: resetFailed},
	diag.StepDockerConfigValidate:     {apply: validateDockerConfig},
	diag.StepDockerWaitReady:          {apply: waitDockerReady},
	diag.StepDataRootMigrate:          {apply: migrateDataRoot},
	diag.StepDeletePod:                {apply: deletePod, parallel: true},
	diag.StepRestartWorkload:          {apply: restartWorkload},
}

// DefaultRollbackGrace is the extra time a transactional plan gets to roll
// back when the fix's deadline passed in the middle of it.
const DefaultRollbackGrace = 10 * time.Second

// stopGrace is how long Apply still waits, once its deadline passed, for
// steps in flight to return: handlers that honour ctx return at once, and
// one stuck in a call that ignores it is abandoned and reported unknown.
const stopGrace = 2 * time.Second

// Apply runs every step of rem's plan. In a transactional plan the first
// failure stops the plan and undoes the steps done so far, newest first;
// otherwise each step stands alone and failures are counted.
//
// ctx bounds the whole apply. When it ends first, steps in flight are
// reported unknown (they may or may not have taken effect), steps never
// started "not started", the result says TimedOut, and a transactional plan
// rolls back what it did within Executor.RollbackGrace.
func (e *Executor) Apply(ctx context.Context, rem diag.Remediation) *diag.ApplyResult {
	res := &diag.ApplyResult{RemediationID: rem.ID, Title: rem.Title, StartedAt: time.Now().UTC()}
	start := time.Now()
	defer func() { res.DurationMs = float64(time.Since(start).Microseconds()) / 1000 }()

	if err := e.preflight(ctx, rem.Plan.Steps); err != nil {
		// Nothing has been touched: refuse the whole plan rather than edit
		// files that no service manager could then apply.
		res.Steps = make([]diag.StepResult, len(rem.Plan.Steps))
		for i, st := range rem.Plan.Steps {
			res.Steps[i] = diag.StepResult{Step: st, Outcome: diag.OutcomeNotStarted}
		}
		res.Error = "refused before any change: " + err.Error()
		return res
	}
	r := newRun(rem.Plan.Steps)
	x := newExecution(e)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		x.applySteps(ctx, rem.Plan, r)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		select {
		case <-finished:
		case <-time.After(stopGrace):
		}
	}
	var undos []func(context.Context) error
	var stopped bool
	res.Steps, undos, res.Error, stopped = r.finish(ctx.Err() != nil)
	if stopped {
		// A deadline is a timeout; a cancel is the user aborting (TUI ctrl+c).
		why := "cancelled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why, res.TimedOut = "timed out", true
		}
		inFlight, notStarted := res.Count(diag.OutcomeUnknown), res.Count(diag.OutcomeNotStarted)
		msg := fmt.Sprintf("%s: %d step(s) in flight, outcome unknown; %d not started", why, inFlight, notStarted)
		if res.Error != "" {
			msg += "; " + res.Error
		}
		res.Error = msg
	}
	if res.Error != "" && rem.Plan.Transactional {
		rctx, cancel := context.WithoutCancel(ctx), func() {}
		if stopped {
			grace := e.RollbackGrace
			if grace <= 0 {
				grace = DefaultRollbackGrace
			}
			rctx, cancel = context.WithTimeout(rctx, grace)
		}
		defer cancel()
		e.rollback(rctx, res, undos)
	}
	return res
}

// stepState is where one step of a run stands.
type stepState int

const (
	stepNotStarted stepState = iota
	stepRunning
	stepFinished
)

// run is the shared record of one Apply: the steps' results as they
// finish. Once Apply stops waiting (abandoned), late results are dropped.
type run struct {
	mu        sync.Mutex
	steps     []diag.Step
	results   []diag.StepResult
	state     []stepState
	undos     []func(context.Context) error
	errMsg    string
	abandoned bool
}

func newRun(steps []diag.Step) *run {
	return &run{
		steps:   steps,
		results: make([]diag.StepResult, len(steps)),
		state:   make([]stepState, len(steps)),
		undos:   make([]func(context.Context) error, len(steps)),
	}
}

// begin marks step k running, unless the run was abandoned.
func (r *run) begin(k int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abandoned {
		return false
	}
	r.state[k] = stepRunning
	return true
}

// end records step k's result.
func (r *run) end(k int, res diag.StepResult, undo func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abandoned {
		return
	}
	r.results[k], r.state[k] = res, stepFinished
	if res.Outcome == diag.OutcomeDone {
		r.undos[k] = undo
	}
	if res.Outcome == diag.OutcomeFailed && r.errMsg == "" {
		r.errMsg = fmt.Sprintf("step %d (%s): %s", k+1, r.steps[k].Description, res.Detail)
	}
}

// failed reports whether a step failed so far.
func (r *run) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errMsg != ""
}

// finish abandons the run and returns the results: a step still running is
// unknown, one never started is "not started". The run timed out when a step
// is unknown, or when the deadline passed (expired) with steps not started.
func (r *run) finish(expired bool) (results []diag.StepResult, undos []func(context.Context) error, errMsg string, timedOut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abandoned = true
	results = make([]diag.StepResult, len(r.steps))
	for k, st := range r.state {
		switch st {
		case stepFinished:
			results[k] = r.results[k]
			timedOut = timedOut || r.results[k].Outcome == diag.OutcomeUnknown
		case stepRunning:
			results[k] = diag.StepResult{Step: r.steps[k], Outcome: diag.OutcomeUnknown,
				Detail: "still running when the fix timed out: it may or may not have taken effect"}
			timedOut = true
		default:
			results[k] = diag.StepResult{Step: r.steps[k], Outcome: diag.OutcomeNotStarted}
			timedOut = timedOut || expired
		}
	}
	return results, slices.Clone(r.undos), r.errMsg, timedOut
}

// applySteps runs the plan's steps in order, stopping at the deadline and,
// in a transactional plan, at the first failure.
func (e *execution) applySteps(ctx context.Context, plan diag.Plan, r *run) {
	steps := plan.Steps
	for i := 0; i < len(steps); {
		if ctx.Err() != nil {
			return
		}
		def, ok := kinds[steps[i].Kind]
		if !ok {
			if !r.begin(i) {
				return
			}
			r.end(i, diag.StepResult{Step: steps[i], Outcome: diag.OutcomeFailed, Detail: "unknown step kind " + string(steps[i].Kind)}, nil)
			if plan.Transactional {
				return
			}
			i++
			continue
		}
		// A run of consecutive parallel steps of one kind goes concurrently.
		j := i + 1
		if def.parallel {
			for j < len(steps) && steps[j].Kind == steps[i].Kind {
				j++
			}
		}
		e.runBatch(ctx, def, r, i, j)
		if plan.Transactional && r.failed() {
			return
		}
		i = j
	}
}

// serviceKinds are the step kinds that need the node's service manager.
var serviceKinds = map[diag.StepKind]bool{
	diag.StepServiceDaemonReload:      true,
	diag.StepServiceRestart:           true,
	diag.StepServiceStop:              true,
	diag.StepServiceStart:             true,
	diag.StepServiceRestartOnRollback: true,
	diag.StepServiceResetFailed:       true,
	diag.StepDataRootMigrate:          true,
}

// preflight checks, before any step runs, that what the plan needs is there:
// a plan that restarts a service needs the node's service manager.
func (e *Executor) preflight(ctx context.Context, steps []diag.Step) error {
	for _, st := range steps {
		if serviceKinds[st.Kind] {
			_, err := e.services(ctx)
			return err
		}
	}
	return nil
}

func (e *execution) runBatch(ctx context.Context, def kindDef, r *run, from, to int) {
	workers := cmp.Or(e.Workers, def.workers, defaultWorkers)
	if to-from == 1 || !def.parallel {
		workers = 1
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for k := from; k < to; k++ {
		sem <- struct{}{}
		if ctx.Err() != nil || !r.begin(k) {
			<-sem
			break // the rest stay "not started"
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			eff, err := def.apply(ctx, e, r.steps[k])
			switch {
			case err != nil && ctx.Err() != nil:
				// The answer never came in time: a DELETE may have been done.
				eff = effect{outcome: diag.OutcomeUnknown, detail: "timed out: " + err.Error() + "; it may or may not have taken effect"}
			case err != nil:
				eff = effect{outcome: diag.OutcomeFailed, detail: err.Error()}
			}
			r.end(k, diag.StepResult{Step: r.steps[k], Outcome: eff.outcome, Detail: eff.detail}, eff.undo)
		}()
	}
	wg.Wait()
}

func (e *Executor) rollback(ctx context.Context, res *diag.ApplyResult, undos []func(context.Context) error) {
	done := make(chan struct{})
	var mu sync.Mutex
	rolled, errs := true, ""
	go func() {
		defer close(done)
		for k := len(undos) - 1; k >= 0; k-- {
			if undos[k] == nil {
				continue
			}
			if err := undos[k](ctx); err != nil {
				mu.Lock()
				rolled = false
				errs += fmt.Sprintf("; rollback of step %d failed: %v", k+1, err)
				mu.Unlock()
			}
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// An undo stuck in a call that ignores ctx: stop waiting.
		mu.Lock()
		rolled, errs = false, errs+"; rollback did not finish in time: "+ctx.Err().Error()
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	res.RolledBack = rolled
	res.Error += errs
}
