package gather

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func nginxDeployment(ns, name, image string, args ...string) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: image, Args: args,
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "CERT", Value: "tls"},
		}}}
	return d
}

func TestIngressControllerArgs(t *testing.T) {
	f, ok := DeploymentIngressController(nginxDeployment("kubesphere-controls-system", "kubesphere-router-demo",
		"docker.io/kubesphere/nginx-ingress-controller:v0.35.0",
		"/nginx-ingress-controller", "--watch-namespace", "demo", "--ingress-class=", "--watch-ingress-without-class",
		"--default-ssl-certificate=$(POD_NAMESPACE)/$(CERT)", "--controller-class=$(UNKNOWN)"))
	if !ok || f.Implementation != "ingress-nginx" || f.Version != "v0.35.0" || f.KubeSphere != "project gateway of demo" {
		t.Fatalf("%+v", f)
	}
	if f.WatchNamespace != "demo" || f.IngressClass == nil || *f.IngressClass != "" || !f.WatchWithoutClass ||
		f.DefaultSSLCertificate != "kubesphere-controls-system/tls" || len(f.Unresolved) != 1 {
		t.Errorf("args %+v", f)
	}
	for image, impl := range map[string]string{
		"traefik:v2.10": "traefik", "nginx/nginx-ingress:3.4.0": "nginx-inc", "haproxytech/kubernetes-ingress:1.10": "haproxy",
		"kong/kubernetes-ingress-controller:3.0": "kong", "ghcr.io/projectcontour/contour:v1.27.0": "contour",
		"apache/apisix-ingress-controller:1.7.0": "apisix", "registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:abc": "ingress-nginx",
	} {
		if f, ok := DeploymentIngressController(nginxDeployment("x", "y", image)); !ok || f.Implementation != impl {
			t.Errorf("%s: %v %q, want %s", image, ok, f.Implementation, impl)
		}
	}
	if _, ok := DeploymentIngressController(nginxDeployment("x", "y", "nginx:1.25")); ok {
		t.Error("plain nginx taken for an ingress controller")
	}
	for tag, want := range map[string]string{"v1.3.1": "v1.3.1", "0.35.0": "v0.35.0", "ks-v3.3.2": "v3.3.2", "v3.2.0-2.249.1": "v3.2.0", "master": "", "": "", "v1.10": "v1.10.0"} {
		if got := ImageVersion(tag); got != want {
			t.Errorf("ImageVersion(%q) = %q, want %q", tag, got, want)
		}
	}
}

// FuzzIngressControllerArgs: any image and argv reduce without panicking,
// and an ingress-nginx controller keeps its image.
func FuzzIngressControllerArgs(f *testing.F) {
	f.Add("registry.k8s.io/ingress-nginx/controller:v1.3.1", "/nginx-ingress-controller --watch-namespace=$(POD_NAMESPACE) --ingress-class nginx")
	f.Add("localhost:5000/kubesphere/nginx-ingress-controller@sha256:00", "--default-ssl-certificate=$(X)/$(CERT) --watch-ingress-without-class=false")
	f.Add(":", "-- --=")
	f.Fuzz(func(t *testing.T, image, args string) {
		d := nginxDeployment("ns", "n", image, strings.Fields(args)...)
		c, ok := DeploymentIngressController(d)
		if ok && c.Image != image {
			t.Fatalf("image %q became %q", image, c.Image)
		}
		repo, tag := SplitImage(image)
		_ = ImageVersion(tag)
		if strings.Contains(tag, "/") || len(repo) > len(image) {
			t.Fatalf("SplitImage(%q) = %q, %q", image, repo, tag)
		}
	})
}
