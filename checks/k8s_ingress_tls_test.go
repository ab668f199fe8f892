package checks

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/checks/checkstest"
	"github.com/ksdoctor/ksdoctor/diag"
)

// TestIngressTLSControllers: the seed verdict holds under the controller
// that serves it; a covering --default-ssl-certificate is no fake
// certificate; an Ingress no known controller serves is unknown, with the
// check in error and no false verdict.
func TestIngressTLSControllers(t *testing.T) {
	crt, key := checkstest.CertPEM(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), "one.test")
	wcrt, wkey := checkstest.CertPEM(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), "*.test")
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
	if !ok || u.Severity != diag.Info || !strings.Contains(checkstest.EvidenceText(u), "traefik") {
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

func TestIngressTLS(t *testing.T) {
	valid := func(names ...string) (crt, key []byte) {
		return checkstest.CertPEM(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), names...)
	}
	sec := map[string]*diag.TLSSecretFacts{}
	add := func(name string, crt, key []byte) { sec["ns/"+name] = tlsSecret(t, "ns", name, crt, key) }
	crt, key := valid("one.test")
	add("pair", crt, key)
	crt2, _ := valid("other.test")
	add("badkey", crt2, key) // key of another certificate
	crt, key = valid("*.w.test")
	add("wild", crt, key)
	crt, key = valid("any.test", "fallback.test")
	add("fb", crt, key)
	sec["ns/missing"] = &diag.TLSSecretFacts{Namespace: "ns", Name: "missing"}
	ing := func(name string, age time.Duration, rules []string, tls ...diag.IngressTLS) diag.IngressFacts {
		return diag.IngressFacts{Namespace: "ns", Name: name, CreatedAt: t0.Add(-age), RuleHosts: rules, TLS: tls}
	}
	c := &diag.ClusterFacts{TLSSecrets: sec, IngressControllersGathered: true, IngressControllers: []diag.IngressControllerFacts{nginxController("v1.3.1", "--watch-ingress-without-class=true")},
		Ingresses: []diag.IngressFacts{
			ing("seed", time.Hour, []string{"one.test", "two.test"}, diag.IngressTLS{Hosts: []string{"one.test", "two.test"}, SecretName: "pair"}),
			ing("wild", time.Hour, []string{"a.w.test", "a.b.w.test"}, diag.IngressTLS{Hosts: []string{"a.w.test", "a.b.w.test"}, SecretName: "wild"}),
			ing("key", time.Hour, []string{"other.test"}, diag.IngressTLS{Hosts: []string{"other.test"}, SecretName: "badkey"}),
			// A rule host not listed in tls.hosts is served any listed secret that verifies it.
			ing("fallback", time.Hour, []string{"fallback.test"}, diag.IngressTLS{Hosts: []string{"any.test"}, SecretName: "fb"}),
			// plain.test is not under TLS: a plain-HTTP host, not judged.
			ing("plain", time.Hour, []string{"any.test", "plain.test"}, diag.IngressTLS{Hosts: []string{"any.test"}, SecretName: "fb"}),
			// A TLS entry without hosts applies to every rule host.
			ing("nohosts", time.Hour, []string{"nh.test"}, diag.IngressTLS{SecretName: "missing"}),
			// Newer broken Ingress for one.test: ignored, the older one wins.
			ing("newer", time.Minute, []string{"one.test"}, diag.IngressTLS{Hosts: []string{"one.test"}, SecretName: "missing"}),
		}}
	fs, err := K8sIngressTLS.Judge(clusterSnap(c), diag.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]diag.Severity{}
	for _, f := range fs {
		got[f.ID] = f.Severity
	}
	want := map[string]diag.Severity{
		"k8s.ingress-tls/two.test":   diag.Critical, // the seed's case
		"k8s.ingress-tls/a.b.w.test": diag.Critical, // a wildcard covers one label only
		"k8s.ingress-tls/other.test": diag.Critical, // key does not match
		"k8s.ingress-tls/one.test":   diag.Warning,  // two Ingresses, different secrets; oldest wins
		"k8s.ingress-tls/nh.test":    diag.Critical, // TLS without hosts, secret missing
	}
	for id, sev := range want {
		if got[id] != sev {
			t.Errorf("%s: %q, want %q", id, got[id], sev)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected %s %s", id, got[id])
		}
	}
}
