package kube_test

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// TestRealKubelet: a Job pinned to a real kubelet's node gets its pod from
// the real Job controller, the kubelet runs it (hostNetwork, containerd in
// the node's namespace) and kube-apiserver reads its log.
func TestRealKubelet(t *testing.T) {
	c, nn := kube.StartForNodes(t)
	kube.StartControllerManager(t, c)
	start := time.Now()
	n := kube.StartNode(t, c, nn, kube.NodeOptions{Name: "ksdt-node-1"})
	t.Logf("node %s (%s) Ready after %s", n.Name, n.IP, time.Since(start).Round(time.Millisecond))
	cs := c.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ksdt"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := false
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pause", Namespace: "ksdt"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		NodeName: n.Name, HostNetwork: true, RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &f,
		Containers: []corev1.Container{{Name: "p", Image: "ksdt-pause:1", ImagePullPolicy: corev1.PullNever}},
	}}}}
	created := time.Now()
	if _, err := cs.BatchV1().Jobs("ksdt").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err := cs.CoreV1().Pods("ksdt").List(ctx, metav1.ListOptions{LabelSelector: "job-name=pause"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning {
			t.Logf("pod Running %s after the Job's create", time.Since(created).Round(time.Millisecond))
			if _, err := cs.CoreV1().Pods("ksdt").GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(ctx); err != nil {
				t.Fatalf("pods/log through the kubelet: %v", err)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("pod never Running: %+v", pods.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
