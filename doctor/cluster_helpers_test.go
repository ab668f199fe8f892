package doctor_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// One real kube-apiserver + etcd for every cluster test of the package
// (starting one takes seconds); each test works in its own namespaces and
// removes its pods.
var shared struct {
	once sync.Once
	c    *kube.Cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	removeBenchKubeconfig()
	if shared.c != nil {
		_ = shared.c.Stop()
	}
	os.Exit(code)
}

func realCluster(t testing.TB) *kube.Cluster {
	t.Helper()
	kube.Require(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		shared.c, shared.err = kube.StartCluster(ctx)
	})
	if shared.err != nil {
		t.Fatalf("start kube testbed: %v", shared.err)
	}
	return shared.c
}

func clusterChecks() []diag.Check {
	var out []diag.Check
	for _, c := range checks.All() {
		for _, s := range c.Needs {
			if s == diag.SourceCluster {
				out = append(out, c)
			}
		}
	}
	return out
}

// newClusterDoctor builds a doctor for the cluster checks as identity.
func newClusterDoctor(t testing.TB, c *kube.Cluster, identity string) *doctor.Doctor {
	t.Helper()
	g := gather.New(gather.Options{
		Kubeconfig:    c.WriteKubeconfig(t, identity),
		SourceTimeout: 60 * time.Second,
		SweepTimeout:  120 * time.Second,
	})
	kc, err := gather.NewKubeClient(g.Options())
	if err != nil {
		t.Fatalf("kube client: %v", err)
	}
	return &doctor.Doctor{
		Tool:     diag.Tool{Name: "ksdoctor", Version: "test"},
		Checks:   clusterChecks(),
		Config:   diag.DefaultConfig(),
		Gatherer: g,
		// The journal goes under a temporary host root, not this machine's /var/lib.
		Executor: &act.Executor{Kube: kc.Clientset, Workers: 16, HostRoot: t.TempDir()},
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// namespaces creates namespaces and deletes every pod in them at cleanup
// (namespaces themselves stay Terminating without a controller manager).
func namespaces(t *testing.T, cs kubernetes.Interface, names ...string) {
	t.Helper()
	ctx := testCtx(t)
	for _, n := range names {
		if err := kube.EnsureNamespace(ctx, cs, n); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		zero := int64(0)
		for _, n := range names {
			if err := cs.CoreV1().Pods(n).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
				t.Errorf("cleanup pods of %s: %v", n, err)
			}
		}
	})
}

func mustPod(t *testing.T, cs kubernetes.Interface, ns, name string, o kube.PodOptions) *corev1.Pod {
	t.Helper()
	p, err := kube.CreatePod(testCtx(t), cs, ns, name, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func finding(r *diag.Report, id string) (diag.Finding, bool) { return r.Finding(id) }

func checkStatus(r *diag.Report, id string) diag.CheckResult {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return diag.CheckResult{}
}

// stepsIn returns the pod targets of rem's plan in namespace ns.
func stepsIn(rem diag.Remediation, ns string) []*diag.PodTarget {
	var out []*diag.PodTarget
	for _, s := range rem.Plan.Steps {
		if s.Pod != nil && s.Pod.Namespace == ns {
			out = append(out, s.Pod)
		}
	}
	return out
}

// applyClusterRole creates the ClusterRole in a deploy/rbac manifest and
// binds it to user.
func applyClusterRole(t *testing.T, cs kubernetes.Interface, manifest, user string) {
	t.Helper()
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	ctx := testCtx(t)
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s: %v", role.Name, err)
	}
	if err := kube.GrantClusterRole(ctx, cs, user, role.Name); err != nil {
		t.Fatal(err)
	}
}

// nginxController creates an ingress-nginx 1.x controller Deployment in
// its own namespace (removed at cleanup) with extra args.
func nginxController(t *testing.T, cs kubernetes.Interface, ns string, args ...string) {
	t.Helper()
	ctx := testCtx(t)
	namespaces(t, cs, ns)
	labels := map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "controller", Image: "registry.k8s.io/ingress-nginx/controller:v1.11.3",
					Args: append([]string{"/nginx-ingress-controller", "--election-id=ingress-nginx-leader", "--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx"}, args...),
				}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(ns).Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
	})
}
