package kubeapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// recorder is an HTTP server that records each request's method, path and
// query and answers with the JSON the test gives for that path.
type recorder struct {
	mu      sync.Mutex
	seen    []string
	answers map[string]any // path → object or *apierrors.StatusError
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	line := r.Method + " " + r.URL.Path
	if q := r.URL.RawQuery; q != "" {
		line += "?" + q
	}
	if ct := r.Header.Get("Content-Type"); r.Method == http.MethodPatch {
		line += " " + ct
	}
	rec.seen = append(rec.seen, line)
	a := rec.answers[r.URL.Path]
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if se, ok := a.(*apierrors.StatusError); ok {
		st := se.ErrStatus
		st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		w.WriteHeader(int(st.Code))
		a = st
	}
	_ = json.NewEncoder(w).Encode(a)
}

func newClient(t *testing.T, rec *recorder) *Clientset {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	// JSON, so the recorder can answer; the product asks for protobuf.
	cs, err := NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}, QPS: 100, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestRequests: each call reaches the path, query and verb the clientset
// would use, and decodes the answer into the typed object.
func TestRequests(t *testing.T) {
	rec := &recorder{answers: map[string]any{
		"/api/v1/pods": corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{Continue: "next"}, Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "x"}}}},
		"/api/v1/namespaces/kube-system/secrets/tls": corev1.Secret{TypeMeta: metav1.TypeMeta{Kind: "Secret", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS},
		"/apis/apps/v1/namespaces/ops/deployments/web": map[string]any{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": map[string]any{"name": "web", "generation": 2}},
		"/apis/networking.k8s.io/v1/ingressclasses":    map[string]any{"kind": "IngressClassList", "apiVersion": "networking.k8s.io/v1", "items": []any{}},
		"/api/v1/nodes/gone":                           apierrors.NewNotFound(corev1.Resource("nodes"), "gone"),
		"/version":                                     map[string]string{"gitVersion": "v1.36.3"},
	}}
	cs := newClient(t, rec)
	ctx := context.Background()

	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 500, Continue: "c1", FieldSelector: "status.phase=Failed"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Name != "a" || pods.Continue != "next" {
		t.Fatalf("pods: %+v %v", pods, err)
	}
	sec, err := cs.CoreV1().Secrets("kube-system").Get(ctx, "tls", metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeTLS {
		t.Fatalf("secret: %+v %v", sec, err)
	}
	dep, err := cs.AppsV1().Deployments("ops").Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "ksdoctor"})
	if err != nil || dep.Name != "web" || dep.Generation != 2 {
		t.Fatalf("deployment: %+v %v", dep, err)
	}
	if _, err := cs.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().Get(ctx, "gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("missing node: %v, want NotFound", err)
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil || !strings.Contains(string(raw), "v1.36.3") {
		t.Fatalf("version: %s %v", raw, err)
	}
	want := []string{
		"GET /api/v1/pods?continue=c1&fieldSelector=status.phase%3DFailed&limit=500",
		"GET /api/v1/namespaces/kube-system/secrets/tls",
		"PATCH /apis/apps/v1/namespaces/ops/deployments/web?fieldManager=ksdoctor application/strategic-merge-patch+json",
		"GET /apis/networking.k8s.io/v1/ingressclasses",
		"GET /api/v1/nodes/gone",
		"GET /version",
	}
	if strings.Join(rec.seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(rec.seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestBinaryLinksNoClientset guards the size and start-up win: the ksdoctor
// binary must not link client-go's full clientset (every API group). It
// links core/v1, apps/v1, networking/v1 and batch/v1 (the fleet sweep's
// Jobs); autoscaling and batch/v1beta1 stand for "every group".
func TestBinaryLinksNoClientset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/ksdoctor/ksdoctor/cmd/ksdoctor").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "k8s.io/client-go/kubernetes" || pkg == "k8s.io/client-go/kubernetes/scheme" || strings.HasPrefix(pkg, "k8s.io/api/autoscaling/") || pkg == "k8s.io/api/batch/v1beta1" {
			t.Errorf("ksdoctor links %s: use kubeapi (and add the kind there) instead of client-go's clientset", pkg)
		}
	}
}
