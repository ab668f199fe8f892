package act

import (
	"context"
	"sync"

	"github.com/ksdoctor/ksdoctor/diag"
)

// execution is one Apply of one plan: the executor's dependencies and what
// this plan has done so far. It lives as long as the Apply, so nothing of
// one plan leaks into the next.
type execution struct {
	*Executor

	mu sync.Mutex
	// svcOps counts restarts, stops and starts per unit, so a rollback
	// restarts a service only when this plan touched it.
	svcOps map[string]int
	// runningBefore names the containers running before this plan's restart
	// (runningKnown: the list could be read), for the blast radius outcome.
	runningBefore []string
	runningKnown  bool
}

func newExecution(e *Executor) *execution {
	return &execution{Executor: e, svcOps: map[string]int{}}
}

// undoFunc reverses a step that was done.
type undoFunc = func(context.Context) error

// effect is what a handler did: the step's outcome, a detail for the user
// and, for a step that can be undone, how.
type effect struct {
	outcome diag.StepOutcome
	detail  string
	undo    undoFunc
}

// done is a step that changed something (undo nil: it cannot be undone).
func done(detail string, undo undoFunc) effect {
	return effect{outcome: diag.OutcomeDone, detail: detail, undo: undo}
}

// noop is a step that found nothing to change.
func noop(detail string) effect { return effect{outcome: diag.OutcomeNoop, detail: detail} }

// skipped is a step left alone on purpose (its object changed since the preview).
func skipped(detail string) effect { return effect{outcome: diag.OutcomeSkipped, detail: detail} }

// handler applies one step. On failure it returns the error (the effect is
// then ignored).
type handler func(ctx context.Context, e *execution, st diag.Step) (effect, error)

type kindDef struct {
	apply handler
	// parallel steps touch independent objects and may run concurrently.
	parallel bool
	// workers bounds a parallel kind's steps in flight (0: defaultWorkers).
	workers int
}

// defaultWorkers bounds the steps of one parallel kind in flight.
const defaultWorkers = 32
