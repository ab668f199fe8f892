package act

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// The real-Docker tests live in doctor and cmd/ksdoctor; these cover the
// executor's own logic with handlers registered for the test.

func withKinds(t *testing.T, extra map[diag.StepKind]kindDef) {
	saved := kinds
	kinds = map[diag.StepKind]kindDef{}
	for k, v := range saved {
		kinds[k] = v
	}
	for k, v := range extra {
		kinds[k] = v
	}
	t.Cleanup(func() { kinds = saved })
}

func TestTransactionalRollsBack(t *testing.T) {
	var mu sync.Mutex
	var log []string
	record := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	withKinds(t, map[diag.StepKind]kindDef{
		"test.ok": {apply: func(_ context.Context, _ *execution, st diag.Step) (effect, error) {
			record("do " + st.Description)
			return done("", func(context.Context) error { record("undo " + st.Description); return nil }), nil
		}},
		"test.fail": {apply: func(context.Context, *execution, diag.Step) (effect, error) {
			return effect{}, errors.New("disk full")
		}},
	})
	rem := diag.Remediation{ID: "x.y/z", Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
		{Kind: "test.ok", Description: "one"}, {Kind: "test.ok", Description: "two"},
		{Kind: "test.fail", Description: "three"}, {Kind: "test.ok", Description: "four"},
	}}}
	res := (&Executor{}).Apply(context.Background(), rem)
	want := "do one,do two,undo two,undo one"
	if got := strings.Join(log, ","); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	if !res.RolledBack || !strings.Contains(res.Error, "disk full") {
		t.Errorf("result %+v", res)
	}
}

func TestIndependentStepsContinue(t *testing.T) {
	var mu sync.Mutex
	active, peak := 0, 0
	withKinds(t, map[diag.StepKind]kindDef{
		"test.par": {parallel: true, apply: func(_ context.Context, _ *execution, st diag.Step) (effect, error) {
			mu.Lock()
			active++
			peak = max(peak, active)
			mu.Unlock()
			defer func() { mu.Lock(); active--; mu.Unlock() }()
			if st.Description == "bad" {
				return effect{}, errors.New("conflict")
			}
			return done("", nil), nil
		}},
	})
	var steps []diag.Step
	for i := range 40 {
		d := "ok"
		if i == 7 {
			d = "bad"
		}
		steps = append(steps, diag.Step{Kind: "test.par", Description: d})
	}
	steps = append(steps, diag.Step{Kind: "test.unknown", Description: "?"})
	res := (&Executor{Workers: 4}).Apply(context.Background(), diag.Remediation{Plan: diag.Plan{Steps: steps}})
	if res.Count(diag.OutcomeDone) != 39 || res.Count(diag.OutcomeFailed) != 2 || res.RolledBack {
		t.Errorf("done %d failed %d", res.Count(diag.OutcomeDone), res.Count(diag.OutcomeFailed))
	}
	if peak > 4 {
		t.Errorf("concurrency %d above the bound 4", peak)
	}
	for i, s := range res.Steps {
		if s.Step.Description != steps[i].Description {
			t.Fatalf("result %d out of order", i)
		}
	}
}

func TestCancelledContextStartsNoStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rem := diag.Remediation{Plan: diag.Plan{Steps: []diag.Step{{Kind: diag.StepRemoveContainer, Container: &diag.ContainerTarget{ID: "x"}}}}}
	res := (&Executor{}).Apply(ctx, rem)
	if res.Count(diag.OutcomeNotStarted) != 1 || !strings.HasPrefix(res.Error, "cancelled") || res.TimedOut {
		t.Errorf("error %q, steps %+v", res.Error, res.Steps)
	}
}

// try runs one handler as Apply would, in a fresh execution of e.
func try(ctx context.Context, h handler, e *Executor, st diag.Step) (diag.StepOutcome, string, undoFunc, error) {
	eff, err := h(ctx, newExecution(e), st)
	return eff.outcome, eff.detail, eff.undo, err
}
