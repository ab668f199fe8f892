package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

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
