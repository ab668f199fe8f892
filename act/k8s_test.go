package act

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestDeletePodOutcomes maps API answers to step outcomes (the real
// apiserver cases are in doctor/cluster_test.go).
func TestDeletePodOutcomes(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		name    string
		err     error
		outcome diag.StepOutcome
		detail  string
	}{
		{name: "deleted", outcome: diag.OutcomeDone, detail: "deleted pod ns/p"},
		{name: "gone", err: apierrors.NewNotFound(gr, "p"), outcome: diag.OutcomeNoop, detail: "already gone"},
		{name: "recreated", err: apierrors.NewConflict(gr, "p", nil), outcome: diag.OutcomeSkipped, detail: "another UID"},
		{name: "forbidden", err: apierrors.NewForbidden(gr, "p", nil), outcome: diag.OutcomeFailed, detail: `missing permission: verb "delete" on resource "pods" in namespace "ns"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset()
			var gotUID string
			cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if p := a.(k8stesting.DeleteAction).GetDeleteOptions().Preconditions; p != nil && p.UID != nil {
					gotUID = string(*p.UID)
				}
				return true, nil, c.err
			})
			e := &Executor{Kube: cs}
			res := e.Apply(context.Background(), diag.Remediation{ID: "k8s.evicted-pods/delete", Plan: diag.Plan{Steps: []diag.Step{{
				Kind: diag.StepDeletePod, Description: "delete pod ns/p", Pod: &diag.PodTarget{Namespace: "ns", Name: "p", UID: "uid-1"},
			}}}})
			s := res.Steps[0]
			if s.Outcome != c.outcome || !strings.Contains(s.Detail, c.detail) {
				t.Errorf("outcome %s %q, want %s containing %q", s.Outcome, s.Detail, c.outcome, c.detail)
			}
			if gotUID != "uid-1" {
				t.Errorf("delete sent UID precondition %q, want uid-1", gotUID)
			}
		})
	}
}

func TestDeletePodRefusesWithoutUID(t *testing.T) {
	e := &Executor{Kube: fake.NewClientset()}
	res := e.Apply(context.Background(), diag.Remediation{Plan: diag.Plan{Steps: []diag.Step{{
		Kind: diag.StepDeletePod, Pod: &diag.PodTarget{Namespace: "ns", Name: "p"},
	}}}})
	if res.Steps[0].Outcome != diag.OutcomeFailed || !strings.Contains(res.Steps[0].Detail, "no UID") {
		t.Errorf("%+v", res.Steps[0])
	}
	e.Kube = nil
	res = e.Apply(context.Background(), diag.Remediation{Plan: diag.Plan{Steps: []diag.Step{{
		Kind: diag.StepDeletePod, Pod: &diag.PodTarget{Namespace: "ns", Name: "p", UID: "u"},
	}}}})
	if !strings.Contains(res.Steps[0].Detail, "no Kubernetes cluster") {
		t.Errorf("%+v", res.Steps[0])
	}
}
