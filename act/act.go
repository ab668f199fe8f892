package act

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Executor applies plans. Its dependencies are fields, set by the caller.
type Executor struct {
	// Docker is the Docker Engine API (nil when unreachable).
	Docker DockerAPI
	// Kube is the Kubernetes API (nil when no cluster is configured).
	Kube kubernetes.Interface
	// HostRoot prefixes every host path.
	HostRoot string
	// Workers bounds concurrent steps of one kind (default 32).
	Workers int
	// Services manages the node's services (nil: systemctl, only with host root /).
	Services ServiceManager
	// CopyTree copies a data-root for a migration (nil: RsyncCopy).
	CopyTree func(ctx context.Context, from, to string) error

	svcMu sync.Mutex
	// svcOps counts restarts, stops and starts per unit, so a rollback restarts a service
	// only when the plan touched it.
	svcOps map[string]int
	// svc is the service manager found for this executor (see services).
	svc ServiceManager
	// runningBefore names the containers running before the last restart
	// (runningKnown: the list could be read), for the blast radius outcome.
	runningBefore []string
	runningKnown  bool
}

// handler applies one step. It returns the outcome, a detail for the user
// and, for steps that can be undone, an undo function.
type handler func(ctx context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error)

type kindDef struct {
	apply handler
	// parallel steps touch independent objects and may run concurrently.
	parallel bool
}

// kinds is the explicit registry of step kinds this executor applies.
var kinds = map[diag.StepKind]kindDef{
	diag.StepRemoveContainer: {apply: removeContainer, parallel: true},
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

// Apply runs every step of rem's plan. In a transactional plan the first
// failure stops the plan and undoes the steps done so far, newest first;
// otherwise each step stands alone and failures are counted.
func (e *Executor) Apply(ctx context.Context, rem diag.Remediation) *diag.ApplyResult {
	res := &diag.ApplyResult{RemediationID: rem.ID, Title: rem.Title, StartedAt: time.Now().UTC()}
	start := time.Now()
	defer func() { res.DurationMs = float64(time.Since(start).Microseconds()) / 1000 }()

	res.Steps = make([]diag.StepResult, len(rem.Plan.Steps))
	undos := make([]func(context.Context) error, len(rem.Plan.Steps))
	steps := rem.Plan.Steps
	if err := e.preflight(ctx, steps); err != nil {
		// Nothing has been touched: refuse the whole plan rather than edit
		// files that no service manager could then apply.
		for i := range steps {
			res.Steps[i] = diag.StepResult{Step: steps[i], Outcome: diag.OutcomeSkipped, Detail: "not started"}
		}
		res.Error = "refused before any change: " + err.Error()
		return res
	}
	for i := 0; i < len(steps); {
		def, ok := kinds[steps[i].Kind]
		if !ok {
			res.Steps[i] = diag.StepResult{Step: steps[i], Outcome: diag.OutcomeFailed, Detail: "unknown step kind " + string(steps[i].Kind)}
			res.Error = fmt.Sprintf("step %d: unknown step kind %q", i+1, steps[i].Kind)
			if rem.Plan.Transactional {
				e.rollback(ctx, res, undos[:i])
				return res
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
		e.runBatch(ctx, def, steps[i:j], res.Steps[i:j], undos[i:j])
		for k := i; k < j; k++ {
			if res.Steps[k].Outcome == diag.OutcomeFailed && res.Error == "" {
				res.Error = fmt.Sprintf("step %d (%s): %s", k+1, steps[k].Description, res.Steps[k].Detail)
			}
		}
		if res.Error != "" && rem.Plan.Transactional {
			e.rollback(ctx, res, undos[:j])
			return res
		}
		i = j
	}
	return res
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

func (e *Executor) runBatch(ctx context.Context, def kindDef, steps []diag.Step, out []diag.StepResult, undos []func(context.Context) error) {
	workers := e.Workers
	if workers <= 0 {
		workers = 32
	}
	if len(steps) == 1 || !def.parallel {
		workers = 1
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for k := range steps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[k] = diag.StepResult{Step: steps[k]}
			if err := ctx.Err(); err != nil {
				out[k].Outcome, out[k].Detail = diag.OutcomeFailed, "cancelled: "+err.Error()
				return
			}
			outcome, detail, undo, err := def.apply(ctx, e, steps[k])
			if err != nil {
				outcome, detail = diag.OutcomeFailed, err.Error()
			}
			out[k].Outcome, out[k].Detail = outcome, detail
			if outcome == diag.OutcomeDone {
				undos[k] = undo
			}
		}()
	}
	wg.Wait()
}

func (e *Executor) rollback(ctx context.Context, res *diag.ApplyResult, undos []func(context.Context) error) {
	res.RolledBack = true
	for k := len(undos) - 1; k >= 0; k-- {
		if undos[k] == nil {
			continue
		}
		if err := undos[k](context.WithoutCancel(ctx)); err != nil {
			res.RolledBack = false
			res.Error += fmt.Sprintf("; rollback of step %d failed: %v", k+1, err)
		}
	}
}
