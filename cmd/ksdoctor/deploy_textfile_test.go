package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// TestTextfileDaemonSetManifest: deploy/textfile/daemonset.yaml decodes
// strictly as an apps/v1 DaemonSet, its arguments are flags the real
// binary knows, the textfile volume is where --textfile writes, the node
// is mounted read-only, it tolerates every taint, and a real kube-apiserver
// accepts it in the namespace of deploy/fleet.
func TestTextfileDaemonSetManifest(t *testing.T) {
	var ds appsv1.DaemonSet
	readYAML(t, "../../deploy/textfile/daemonset.yaml", 0, &ds)
	spec := ds.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	ksd(t, append(slices.Clone(c.Args), "--help")...).wantCode(t, exitOK)
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"sweep", "--interval=5m", "--textfile=/textfile", "--host-root=/host"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if m := mounts["textfile"]; m.MountPath != "/textfile" || m.ReadOnly {
		t.Errorf("textfile mount %+v", m)
	}
	if m := mounts["host"]; m.MountPath != "/host" || !m.ReadOnly {
		t.Errorf("host mount %+v: the node must be read-only", m)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists || spec.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v: want one that tolerates every taint", spec.Tolerations)
	}

	cl := kube.Start(t)
	cs := cl.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ns corev1.Namespace
	readYAML(t, "../../deploy/fleet/namespace.yaml", 0, &ns)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets(ds.Namespace).Create(ctx, &ds, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the apiserver refuses the DaemonSet: %v", err)
	}
}
