package act

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Step kinds registered only by these tests.
const (
	kindQuick  diag.StepKind = "test.quick"  // done at once, undo counted
	kindHang   diag.StepKind = "test.hang"   // blocks, ignoring ctx, until release
	kindHangCx diag.StepKind = "test.hangcx" // blocks until ctx ends, then fails with its error
)

// withTestKinds registers the test kinds; undone counts undos, release
// unblocks kindHang steps and undos that hang.
func withTestKinds(t *testing.T, hangUndo bool) (undone *atomic.Int32, release chan struct{}) {
	t.Helper()
	undone, release = &atomic.Int32{}, make(chan struct{})
	kinds[kindQuick] = kindDef{apply: func(context.Context, *execution, diag.Step) (effect, error) {
		return done("", func(context.Context) error {
			if hangUndo {
				<-release
			}
			undone.Add(1)
			return nil
		}), nil
	}}
	kinds[kindHang] = kindDef{apply: func(context.Context, *execution, diag.Step) (effect, error) {
		<-release
		return done("", nil), nil
	}}
	kinds[kindHangCx] = kindDef{apply: func(ctx context.Context, _ *execution, _ diag.Step) (effect, error) {
		<-ctx.Done()
		return effect{}, errors.New("DELETE: " + ctx.Err().Error())
	}}
	t.Cleanup(func() {
		close(release)
		delete(kinds, kindQuick)
		delete(kinds, kindHang)
		delete(kinds, kindHangCx)
	})
	return undone, release
}

func plan(transactional bool, ks ...diag.StepKind) diag.Remediation {
	var steps []diag.Step
	for _, k := range ks {
		steps = append(steps, diag.Step{Kind: k, Description: string(k)})
	}
	return diag.Remediation{ID: "x.y/z", Plan: diag.Plan{Steps: steps, Transactional: transactional}}
}

func outcomes(res *diag.ApplyResult) []diag.StepOutcome {
	var out []diag.StepOutcome
	for _, s := range res.Steps {
		out = append(out, s.Outcome)
	}
	return out
}

// TestApplyDeadline: the fix's deadline bounds Apply even when a step
// ignores its context: the step in flight is unknown, the rest not started,
// and a transactional plan rolls back what it did, itself bounded.
func TestApplyDeadline(t *testing.T) {
	tests := []struct {
		name          string
		rem           diag.Remediation
		hangUndo      bool
		want          []diag.StepOutcome
		undone        int32
		rolledBack    bool
		errorContains string
	}{
		{"step ignores ctx", plan(false, kindQuick, kindHang, kindQuick),
			false, []diag.StepOutcome{diag.OutcomeDone, diag.OutcomeUnknown, diag.OutcomeNotStarted}, 0, false, "1 step(s) in flight"},
		{"step honours ctx", plan(false, kindQuick, kindHangCx, kindQuick),
			false, []diag.StepOutcome{diag.OutcomeDone, diag.OutcomeUnknown, diag.OutcomeNotStarted}, 0, false, "timed out"},
		{"transactional rolls back", plan(true, kindQuick, kindQuick, kindHang, kindQuick),
			false, []diag.StepOutcome{diag.OutcomeDone, diag.OutcomeDone, diag.OutcomeUnknown, diag.OutcomeNotStarted}, 2, true, "1 not started"},
		{"transactional rollback bounded", plan(true, kindQuick, kindHangCx),
			true, []diag.StepOutcome{diag.OutcomeDone, diag.OutcomeUnknown}, 0, false, "rollback did not finish in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			undone, _ := withTestKinds(t, tt.hangUndo)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			e := &Executor{RollbackGrace: 300 * time.Millisecond}
			start := time.Now()
			res := e.Apply(ctx, tt.rem)
			if took := time.Since(start); took > 200*time.Millisecond+stopGrace+time.Second {
				t.Errorf("Apply took %s past its deadline", took)
			}
			if got := outcomes(res); !equalOutcomes(got, tt.want) {
				t.Errorf("outcomes %v, want %v", got, tt.want)
			}
			if !res.TimedOut || !strings.HasPrefix(res.Error, "timed out") || !strings.Contains(res.Error, tt.errorContains) {
				t.Errorf("timedOut %v error %q, want timed out … %q", res.TimedOut, res.Error, tt.errorContains)
			}
			if got := undone.Load(); got != tt.undone || res.RolledBack != tt.rolledBack {
				t.Errorf("undone %d rolledBack %v, want %d %v", got, res.RolledBack, tt.undone, tt.rolledBack)
			}
			rec := NewJournalRecord("x.y", tt.rem, res)
			if rec.Outcome != "timed out" {
				t.Errorf("journal outcome %q, want timed out", rec.Outcome)
			}
		})
	}
}

func equalOutcomes(a, b []diag.StepOutcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
