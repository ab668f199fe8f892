package fleet_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// TestAPILogsRequest: the command reads a report through the pods/log
// subresource of the sweep's container, capped. (The test apiserver has no
// kubelet to serve pods/log, so the request's shape is checked here.)
func TestAPILogsRequest(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.RequestURI()
		w.Write([]byte(`{"schemaVersion":1}`))
	}))
	defer srv.Close()
	cs, err := kubeapi.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fleet.APILogs{Client: cs}.ReadLog(context.Background(), "ksdoctor", "ksdoctor-ab12-0-xyz", fleet.ContainerName)
	if err != nil || string(b) != `{"schemaVersion":1}` {
		t.Fatalf("%q %v", b, err)
	}
	if want := "GET /api/v1/namespaces/ksdoctor/pods/ksdoctor-ab12-0-xyz/log?container=ksdoctor&limitBytes=16777216"; got != want {
		t.Errorf("request %q, want %q", got, want)
	}
}
