package kube_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

func TestCluster(t *testing.T) {
	c := kube.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin := c.Clientset(t, kube.Admin)
	if v, err := admin.Discovery().ServerVersion(); err != nil {
		t.Fatalf("server version: %v", err)
	} else if v.GitVersion != "v1.36.3" || v.Major != "1" || v.Minor != "36" {
		t.Fatalf("server version = %s (major %q minor %q), want v1.36.3", v.GitVersion, v.Major, v.Minor)
	}

	const ns = "ksdt-evicted"
	if err := kube.EnsureNamespace(ctx, admin, ns); err != nil {
		t.Fatal(err)
	}
	if err := kube.EnsureNamespace(ctx, admin, ns); err != nil {
		t.Fatalf("second EnsureNamespace: %v", err)
	}

	pod, err := kube.CreatePod(ctx, admin, ns, "web-0", kube.PodOptions{NodeName: "node-1", Labels: map[string]string{"app": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase != corev1.PodPending {
		t.Fatalf("new pod phase = %q, want Pending (set by the apiserver)", pod.Status.Phase)
	}
	running, err := kube.CreatePod(ctx, admin, ns, "web-1", kube.PodOptions{NodeName: "node-1",
		Status: corev1.PodStatus{Phase: corev1.PodRunning}})
	if err != nil {
		t.Fatal(err)
	}
	if running.Status.Phase != corev1.PodRunning {
		t.Fatalf("web-1 phase = %q, want Running", running.Status.Phase)
	}

	pod, err = kube.SetPodStatus(ctx, admin, pod, kube.EvictedStatus(""))
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase != corev1.PodFailed || pod.Status.Reason != "Evicted" {
		t.Fatalf("after SetPodStatus: phase %q reason %q", pod.Status.Phase, pod.Status.Reason)
	}

	failed, err := admin.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Failed"})
	if err != nil {
		t.Fatalf("list failed pods: %v", err)
	}
	if len(failed.Items) != 1 || failed.Items[0].Name != "web-0" || failed.Items[0].Status.Reason != "Evicted" {
		t.Fatalf("status.phase=Failed lists %d pods: %v", len(failed.Items), names(failed.Items))
	}
	// status.reason is not a pod field selector (FIELD-NOTES); the apiserver says so.
	if _, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "status.reason=Evicted"}); !apierrors.IsBadRequest(err) {
		t.Errorf("status.reason field selector: err = %v, want BadRequest", err)
	}

	reader := c.Clientset(t, kube.Reader)
	err = reader.CoreV1().Pods(ns).Delete(ctx, "web-0", metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("reader deleting a pod without RBAC: err = %v, want Forbidden", err)
	}
	if _, err := reader.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reader listing pods without RBAC: err = %v, want Forbidden", err)
	}

	// With the read-only role bound, reader can list but still not delete.
	if err := kube.GrantClusterRole(ctx, admin, kube.Reader, "view"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "reader may list pods after binding view", func() error {
		_, err := reader.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	if err := reader.CoreV1().Pods(ns).Delete(ctx, "web-0", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reader with view deleting a pod: err = %v, want Forbidden", err)
	}
	if _, err := admin.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{}); err != nil {
		t.Fatalf("web-0 after the forbidden delete: %v", err)
	}

	// A kubeconfig for reader, as ksdoctor would load it.
	path := c.WriteKubeconfig(t, kube.Reader)
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil || raw.CurrentContext != kube.ContextName {
		t.Fatalf("kubeconfig current context: %v, %v", raw, err)
	}
	fromFile, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset from kubeconfig: %v", err)
	}
	if _, err := fromFile.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{}); err != nil {
		t.Fatalf("get via kubeconfig: %v", err)
	}

	// The fixer identity exists and has no rights of its own.
	fixer := c.Clientset(t, kube.Fixer)
	if _, err := fixer.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("fixer listing namespaces: err = %v, want Forbidden", err)
	}
}

func TestCreatePods(t *testing.T) {
	c := kube.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := c.Clientset(t, kube.Admin)

	const namespaces, perNS = 5, 40
	var pods []*corev1.Pod
	for i := range namespaces {
		ns := fmt.Sprintf("team-%d", i)
		if err := kube.EnsureNamespace(ctx, cs, ns); err != nil {
			t.Fatal(err)
		}
		for j := range perNS {
			o := kube.PodOptions{NodeName: "node-1", Status: corev1.PodStatus{Phase: corev1.PodRunning}}
			switch j % 4 {
			case 1:
				o.Status = kube.EvictedStatus("")
			case 2:
				o.Status = kube.CrashLoopStatus("main", 7, 1)
			}
			pods = append(pods, kube.NewPod(ns, fmt.Sprintf("p-%03d", j), o))
		}
	}
	start := time.Now()
	created, err := kube.CreatePods(ctx, cs, pods, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d pods (with status) in %s", len(created), time.Since(start).Round(time.Millisecond))
	if len(created) != len(pods) {
		t.Fatalf("created %d pods, want %d", len(created), len(pods))
	}

	failed, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Failed"})
	if err != nil {
		t.Fatalf("list failed pods: %v", err)
	}
	if want := namespaces * perNS / 4; len(failed.Items) != want {
		t.Fatalf("%d failed pods, want %d", len(failed.Items), want)
	}
	running, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		t.Fatalf("list running pods: %v", err)
	}
	crashing := 0
	for _, p := range running.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" && s.LastTerminationState.Terminated.ExitCode == 1 {
				crashing++
			}
		}
	}
	if want := namespaces * perNS / 4; crashing != want {
		t.Fatalf("%d pods in CrashLoopBackOff, want %d", crashing, want)
	}

	// A duplicate name makes CreatePods report the failure.
	_, err = kube.CreatePods(ctx, cs, []*corev1.Pod{kube.NewPod("team-0", "p-000", kube.PodOptions{})}, 4)
	if !apierrors.IsAlreadyExists(err) || !strings.Contains(err.Error(), "team-0/p-000") {
		t.Fatalf("duplicate pod: err = %v, want AlreadyExists naming team-0/p-000", err)
	}
}

// TestStopLeavesNothing checks that Stop ends both processes and removes the files.
func TestStopLeavesNothing(t *testing.T) {
	kube.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := kube.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	apiPID, etcdPID := c.PIDs()
	caFile := c.CAFile
	t.Logf("ready after %s", c.ReadyAfter.Round(time.Millisecond))
	stopStart := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(stopStart).Round(time.Millisecond))
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	for _, pid := range []int{apiPID, etcdPID} {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("pid %d still exists after Stop", pid)
		}
	}
	if _, err := os.Stat(caFile); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop (err %v)", caFile, err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func names(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}
