package act

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// apiServer answers the pod DELETE of these tests over HTTP as the API
// server does: 200 with a Status, or the error's Status and code. It
// records the UID precondition the client sent.
func apiServer(t *testing.T, answer *apierrors.StatusError, gotUID *string) kubeapi.Interface {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || r.URL.Path != "/api/v1/namespaces/ns/pods/p" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		// The body is protobuf, as the product sends it; decode it by its type.
		body, _ := io.ReadAll(r.Body)
		obj, _, err := kubeapi.Codecs().UniversalDeserializer().Decode(body, nil, nil)
		if opts, ok := obj.(*metav1.DeleteOptions); err == nil && ok && opts.Preconditions != nil && opts.Preconditions.UID != nil {
			*gotUID = string(*opts.Preconditions.UID)
		}
		st := metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK}
		if answer != nil {
			st = answer.ErrStatus
		}
		st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(st.Code))
		_ = json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(srv.Close)
	cs, err := kubeapi.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestDeletePodOutcomes maps API answers to step outcomes (the real
// apiserver cases are in doctor/cluster_test.go).
func TestDeletePodOutcomes(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		name    string
		err     *apierrors.StatusError
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
			var gotUID string
			e := &Executor{Kube: apiServer(t, c.err, &gotUID)}
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
	var gotUID string
	e := &Executor{Kube: apiServer(t, nil, &gotUID)}
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
