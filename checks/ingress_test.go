package checks

import (
	"slices"
	"strings"
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

// TestIngressClassRules: which controller serves an Ingress, by the
// ingress-nginx version's own rules.
func TestIngressClassRules(t *testing.T) {
	classes := []diag.IngressClassFacts{{Name: "nginx", Controller: "k8s.io/ingress-nginx"}, {Name: "traefik", Controller: "traefik.io/ingress-controller"}}
	none := &diag.IngressFacts{Namespace: "a"}
	byName := func(n string) *diag.IngressFacts { return &diag.IngressFacts{Namespace: "a", ClassName: n} }
	byAnn := func(v string) *diag.IngressFacts { return &diag.IngressFacts{Namespace: "a", ClassAnnotation: strp(v)} }
	tests := []struct {
		name    string
		ctrl    diag.IngressControllerFacts
		classes []diag.IngressClassFacts
		ing     *diag.IngressFacts
		want    tri
	}{
		{"1.x class name", nginxController("v1.3.1"), classes, byName("nginx"), triYes},
		{"1.x other controller's class", nginxController("v1.3.1"), classes, byName("traefik"), triNo},
		{"1.x missing class", nginxController("v1.3.1"), classes, byName("gone"), triNo},
		{"1.x annotation", nginxController("v1.3.1"), classes, byAnn("nginx"), triYes},
		{"1.x other annotation", nginxController("v1.3.1"), classes, byAnn("traefik"), triNo},
		{"1.x no class", nginxController("v1.3.1"), classes, none, triNo},
		{"1.x no class, without-class", nginxController("v1.3.1", "--watch-ingress-without-class=true"), classes, none, triYes},
		{"1.x custom controller class", nginxController("v1.9.4", "--controller-class=example.com/internal"), classes, byName("nginx"), triNo},
		{"1.x by name", nginxController("v1.9.4", "--controller-class", "example.com/internal", "--ingress-class=nginx", "--ingress-class-by-name"), classes, byName("nginx"), triYes},
		{"watch namespace", nginxController("v1.3.1", "--watch-namespace=$(POD_NAMESPACE)"), classes, byName("nginx"), triNo},
		{"watch namespace selector", nginxController("v1.3.1", "--watch-namespace-selector=team=a"), classes, byName("nginx"), triMaybe},
		{"0.35 no annotation, class exists, no name", nginxController("0.35.0"), classes, none, triNo},
		{"0.35 no annotation, no class object", nginxController("0.35.0"), nil, none, triYes},
		{"0.35 empty annotation", nginxController("0.35.0"), classes, byAnn(""), triYes},
		{"0.48 no class at all", nginxController("v0.48.1"), classes, none, triYes},
		{"0.48 class name", nginxController("v0.48.1"), classes, byName("nginx"), triYes},
		{"0.48 other annotation", nginxController("v0.48.1"), classes, byAnn("traefik"), triNo},
		{"0.48 custom class", nginxController("v0.48.1", "--ingress-class=internal"), nil, none, triNo},
		{"unknown version, rules agree", nginxController("latest"), classes, byAnn("traefik"), triNo},
		{"unknown version, rules disagree", nginxController("latest"), classes, none, triMaybe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &diag.ClusterFacts{IngressClasses: tt.classes}
			if got, why := nginxServes(c, &tt.ctrl, tt.ing); got != tt.want {
				t.Errorf("got %d (%s), want %d", got, why, tt.want)
			}
		})
	}
}

// TestIngressTLSControllers: the seed verdict holds under the controller
// that serves it; a covering --default-ssl-certificate is no fake
// certificate; an Ingress no known controller serves is unknown, with the
// check in error and no false verdict.
func TestIngressTLSControllers(t *testing.T) {
	crt, key := testCert(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), "one.test")
	wcrt, wkey := testCert(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), "*.test")
	sec := map[string]*diag.TLSSecretFacts{
		"ns/pair":             tlsSecret(t, "ns", "pair", crt, key),
		"ingress-nginx/wild":  tlsSecret(t, "ingress-nginx", "wild", wcrt, wkey),
		"ingress-nginx/other": tlsSecret(t, "ingress-nginx", "other", crt, key),
	}
	seed := diag.IngressFacts{Namespace: "ns", Name: "seed", CreatedAt: t0.Add(-time.Hour), ClassName: "nginx",
		RuleHosts: []string{"one.test", "two.test"}, TLS: []diag.IngressTLS{{Hosts: []string{"one.test", "two.test"}, SecretName: "pair"}}}
	traefik := diag.IngressFacts{Namespace: "ns", Name: "tr", CreatedAt: t0.Add(-time.Hour), ClassName: "traefik",
		RuleHosts: []string{"t.test"}, TLS: []diag.IngressTLS{{Hosts: []string{"t.test"}, SecretName: "missing"}}}
	classes := []diag.IngressClassFacts{{Name: "nginx", Controller: "k8s.io/ingress-nginx"}, {Name: "traefik", Controller: "traefik.io/ingress-controller"}}
	run := func(ctrls ...diag.IngressControllerFacts) *diag.Report {
		c := &diag.ClusterFacts{TLSSecrets: sec, IngressControllersGathered: true, IngressControllers: ctrls, IngressClasses: classes,
			Ingresses: []diag.IngressFacts{seed, traefik}}
		return diag.Run([]diag.Check{K8sIngressTLS}, clusterSnap(c), diag.DefaultConfig(), diag.RunOptions{})
	}
	trCtrl := diag.IngressControllerFacts{Kind: "Deployment", Namespace: "traefik", Name: "traefik", Implementation: diag.IngressTraefik}
	rep := run(nginxController("v1.3.1"), trCtrl)
	m := byID(rep.Findings)
	if f := m["k8s.ingress-tls/two.test"]; f.Severity != diag.Critical || !strings.Contains(f.Title, "fake certificate") {
		t.Errorf("seed: %s %q", f.Severity, f.Title)
	}
	u, ok := m["k8s.ingress-tls/t.test/unknown"]
	if !ok || u.Severity != diag.Info || !strings.Contains(evidenceString(u), "traefik") {
		t.Errorf("traefik Ingress: %+v", u)
	}
	if _, ok := m["k8s.ingress-tls/t.test"]; ok {
		t.Error("a verdict on a host no modelled controller serves")
	}
	if st := rep.Checks[0]; st.Status != diag.StatusError || !strings.Contains(st.Error, "t.test") {
		t.Errorf("status %s %q, want error naming t.test", st.Status, st.Error)
	}

	// A default certificate covering the host: served it, no fake certificate.
	rep = run(nginxController("v1.3.1", "--default-ssl-certificate=$(POD_NAMESPACE)/wild"))
	if f := byID(rep.Findings)["k8s.ingress-tls/two.test"]; f.Severity != diag.Warning || strings.Contains(f.Title, "fake") {
		t.Errorf("covering default: %s %q", f.Severity, f.Title)
	}
	// A default certificate that does not cover it: critical, named.
	rep = run(nginxController("v1.3.1", "--default-ssl-certificate=ingress-nginx/other"))
	if f := byID(rep.Findings)["k8s.ingress-tls/two.test"]; f.Severity != diag.Critical || !strings.Contains(f.Title, "ingress-nginx/other") {
		t.Errorf("non-covering default: %s %q", f.Severity, f.Title)
	}
	// A default certificate that does not exist: the fake one.
	rep = run(nginxController("v1.3.1", "--default-ssl-certificate=ingress-nginx/nope"))
	if f := byID(rep.Findings)["k8s.ingress-tls/two.test"]; !strings.Contains(f.Title, "fake certificate") {
		t.Errorf("missing default: %q", f.Title)
	}
	// A KubeSphere project gateway watching another namespace does not serve it.
	ks := controllerFrom("kubesphere-controls-system", "kubesphere-router-demo", "kubesphere/nginx-ingress-controller:v1.1.0",
		"--watch-ingress-without-class=true", "--watch-namespace=demo")
	if ks.KubeSphere != "project gateway of demo" {
		t.Errorf("gateway %q", ks.KubeSphere)
	}
	rep = run(ks)
	if _, ok := byID(rep.Findings)["k8s.ingress-tls/two.test/unknown"]; !ok {
		t.Errorf("gateway of another namespace: %s", verdictLine(rep))
	}
	// A controller scaled to zero serves nothing.
	zero := nginxController("v1.3.1")
	zero.Replicas = 0
	if rep = run(zero); verdictLine(rep) != "k8s.ingress-tls status error; k8s.ingress-tls/one.test/unknown info; k8s.ingress-tls/t.test/unknown info; k8s.ingress-tls/two.test/unknown info" {
		t.Errorf("scaled to zero: %s", verdictLine(rep))
	}
	// Without controller facts (an older snapshot): unknown, not a verdict.
	c := &diag.ClusterFacts{TLSSecrets: sec, Ingresses: []diag.IngressFacts{seed}}
	rep = diag.Run([]diag.Check{K8sIngressTLS}, clusterSnap(c), diag.DefaultConfig(), diag.RunOptions{})
	ids := slices.Collect(func(yield func(string) bool) {
		for _, f := range rep.Findings {
			yield(f.ID)
		}
	})
	if !slices.Equal(ids, []string{"k8s.ingress-tls/one.test/unknown", "k8s.ingress-tls/two.test/unknown"}) {
		t.Errorf("no controller facts: %v", ids)
	}
}

func evidenceString(f diag.Finding) string {
	var b strings.Builder
	for _, e := range f.Evidence {
		b.WriteString(e.Label + ": " + e.Value + "\n")
		if e.Table != nil {
			for _, r := range e.Table.Rows {
				b.WriteString(strings.Join(r, " | ") + "\n")
			}
		}
	}
	return b.String()
}
