package checks

import (
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nginxController reduces an ingress-nginx Deployment with args through
// the gatherer's own reducer.
func nginxController(tag string, args ...string) diag.IngressControllerFacts {
	return controllerFrom("ingress-nginx", "ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:"+tag, args...)
}

func controllerFrom(ns, name, image string, args ...string) diag.IngressControllerFacts {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{
		Name: "controller", Image: image, Args: append([]string{"/nginx-ingress-controller"}, args...),
		Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
	}}
	f, ok := gather.DeploymentIngressController(d)
	if !ok {
		panic("not an ingress controller: " + image)
	}
	return f
}

func strp(s string) *string { return &s }

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func clusterSnap(c *diag.ClusterFacts) *diag.Snapshot {
	return &diag.Snapshot{
		SchemaVersion: diag.SchemaVersion,
		StartedAt:     t0,
		Host:          &diag.HostFacts{Hostname: "node-1"},
		Sources: map[diag.Source]*diag.SourceStatus{
			diag.SourceCluster: {Source: diag.SourceCluster, OK: true},
			diag.SourceHost:    {Source: diag.SourceHost, OK: true},
		},
		Cluster: c,
	}
}

func byID(fs []diag.Finding) map[string]diag.Finding {
	m := map[string]diag.Finding{}
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func tlsSecret(t *testing.T, ns, name string, crt, key []byte) *diag.TLSSecretFacts {
	s := &diag.TLSSecretFacts{Namespace: ns, Name: name, Found: true, Type: "kubernetes.io/tls"}
	gather.ParseTLSSecretData(s, crt, key)
	return s
}
