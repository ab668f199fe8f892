package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Which ingress controller serves an Ingress, by ingress-nginx's own rules
// for its version (kubernetes/ingress-nginx):
//   - 1.x: store.GetIngressClass: spec.ingressClassName must name an
//     IngressClass whose spec.controller is the controller's
//     --controller-class (default k8s.io/ingress-nginx), or whose name is
//     --ingress-class with --ingress-class-by-name; else the
//     kubernetes.io/ingress.class annotation must equal --ingress-class
//     (default nginx); else only --watch-ingress-without-class serves it.
//   - 0.42 to 0.49: class.IsValid on the annotation (else
//     ingressClassName): empty is served by the default class "nginx";
//     with an IngressClass named --ingress-class the value must equal it.
//   - up to 0.41: class.IsValid: the annotation decides when present;
//     without it, served unless an IngressClass named --ingress-class
//     exists and spec.ingressClassName does not name it.
// --watch-namespace limits every version to one namespace.

// tri is a yes / no / cannot-tell answer.
type tri int

const (
	triNo tri = iota
	triYes
	triMaybe
)

const (
	nginxDefaultController = "k8s.io/ingress-nginx"
	nginxDefaultClass      = "nginx"
)

// nginxMajorMinor returns the controller's version; ok is false when the
// image tag names none.
func nginxMajorMinor(ctrl *diag.IngressControllerFacts) (major, minor int, ok bool) {
	v := strings.TrimPrefix(ctrl.Version, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	return ma, mi, err1 == nil && err2 == nil
}

// nginxServes says whether the ingress-nginx controller ctrl serves ing,
// and why.
func nginxServes(c *diag.ClusterFacts, ctrl *diag.IngressControllerFacts, ing *diag.IngressFacts) (tri, string) {
	if len(ctrl.Unresolved) > 0 {
		return triMaybe, "arguments ksdoctor cannot expand: " + strings.Join(ctrl.Unresolved, " ")
	}
	if ctrl.WatchNamespace != "" && ctrl.WatchNamespace != ing.Namespace {
		return triNo, fmt.Sprintf("watches only namespace %s (--watch-namespace)", ctrl.WatchNamespace)
	}
	if ctrl.WatchNamespaceSelector != "" {
		return triMaybe, fmt.Sprintf("watches namespaces selected by %q (--watch-namespace-selector), not evaluated", ctrl.WatchNamespaceSelector)
	}
	major, minor, known := nginxMajorMinor(ctrl)
	switch {
	case known && major >= 1, !known && ctrl.ControllerClass != "":
		// --controller-class exists only from 1.0.
		return nginxServesV1(c, ctrl, ing)
	case known && minor >= 42:
		return nginxServesV042(c, ctrl, ing)
	case known:
		return nginxServesV035(c, ctrl, ing)
	}
	// Version unknown: an answer all rule sets agree on stands.
	a, why := nginxServesV1(c, ctrl, ing)
	b, _ := nginxServesV042(c, ctrl, ing)
	d, _ := nginxServesV035(c, ctrl, ing)
	if a == b && b == d {
		return a, why + " (the same under every ingress-nginx version)"
	}
	return triMaybe, "the image tag names no version and ingress-nginx 0.x and 1.x class rules disagree for this Ingress"
}

func annotationValue(ctrl *diag.IngressControllerFacts) string {
	if ctrl.IngressClass != nil {
		return *ctrl.IngressClass
	}
	return nginxDefaultClass
}

func ingressClass(c *diag.ClusterFacts, name string) *diag.IngressClassFacts {
	for i := range c.IngressClasses {
		if c.IngressClasses[i].Name == name {
			return &c.IngressClasses[i]
		}
	}
	return nil
}

func nginxServesV1(c *diag.ClusterFacts, ctrl *diag.IngressControllerFacts, ing *diag.IngressFacts) (tri, string) {
	controller := ctrl.ControllerClass
	if controller == "" {
		controller = nginxDefaultController
	}
	value := annotationValue(ctrl)
	if ing.ClassName != "" {
		ic := ingressClass(c, ing.ClassName)
		switch {
		case ic == nil:
			return triNo, fmt.Sprintf("spec.ingressClassName %s names no IngressClass", ing.ClassName)
		case ic.Controller == controller:
			return triYes, fmt.Sprintf("IngressClass %s has controller %s (--controller-class)", ic.Name, controller)
		case ctrl.IngressClassByName && ic.Name == value:
			return triYes, fmt.Sprintf("IngressClass %s is --ingress-class with --ingress-class-by-name", ic.Name)
		}
		return triNo, fmt.Sprintf("IngressClass %s has controller %s, not %s", ic.Name, ic.Controller, controller)
	}
	if ing.ClassAnnotation != nil {
		if *ing.ClassAnnotation == value {
			return triYes, fmt.Sprintf("annotation kubernetes.io/ingress.class=%s is --ingress-class", value)
		}
		return triNo, fmt.Sprintf("annotation kubernetes.io/ingress.class=%q is not --ingress-class %q", *ing.ClassAnnotation, value)
	}
	if ctrl.WatchWithoutClass {
		return triYes, "no class, and --watch-ingress-without-class is set"
	}
	return triNo, "no class, and --watch-ingress-without-class is not set"
}

func nginxServesV042(c *diag.ClusterFacts, ctrl *diag.IngressControllerFacts, ing *diag.IngressFacts) (tri, string) {
	value := annotationValue(ctrl)
	class, from := ing.ClassName, "spec.ingressClassName"
	if ing.ClassAnnotation != nil {
		class, from = *ing.ClassAnnotation, "annotation kubernetes.io/ingress.class"
	}
	if class == "" && value == nginxDefaultClass {
		return triYes, "no class, and the controller has the default class nginx"
	}
	want := value
	if ic := ingressClass(c, value); ic != nil {
		want = ic.Name
	}
	if class == want {
		return triYes, fmt.Sprintf("%s %s is the controller's class", from, class)
	}
	return triNo, fmt.Sprintf("class %q is not the controller's class %q", class, want)
}

func nginxServesV035(c *diag.ClusterFacts, ctrl *diag.IngressControllerFacts, ing *diag.IngressFacts) (tri, string) {
	value := annotationValue(ctrl)
	if ing.ClassAnnotation != nil {
		a := *ing.ClassAnnotation
		if (a == "" && value == nginxDefaultClass) || a == value {
			return triYes, fmt.Sprintf("annotation kubernetes.io/ingress.class=%q matches --ingress-class %q", a, value)
		}
		return triNo, fmt.Sprintf("annotation kubernetes.io/ingress.class=%q is not --ingress-class %q", a, value)
	}
	ic := ingressClass(c, value)
	if ic == nil {
		if value == nginxDefaultClass {
			return triYes, "no annotation and no IngressClass named nginx: the default class serves it"
		}
		return triNo, fmt.Sprintf("no annotation, and --ingress-class %s is not the default", value)
	}
	if ing.ClassName == ic.Name {
		return triYes, fmt.Sprintf("spec.ingressClassName %s is the controller's IngressClass", ic.Name)
	}
	return triNo, fmt.Sprintf("no annotation, and spec.ingressClassName %q is not the controller's IngressClass %s", ing.ClassName, ic.Name)
}

// otherController names the controller an Ingress's IngressClass points
// at when it is not one ksdoctor models ("" when unknown).
func otherController(c *diag.ClusterFacts, ing *diag.IngressFacts) string {
	if ing.ClassName == "" {
		return ""
	}
	if ic := ingressClass(c, ing.ClassName); ic != nil {
		return fmt.Sprintf("IngressClass %s names controller %s", ic.Name, ic.Controller)
	}
	return ""
}

// servingControllers returns the ingress-nginx controllers that serve ing,
// and a line for every controller saying why it does or does not, or
// cannot be judged.
func servingControllers(c *diag.ClusterFacts, ing *diag.IngressFacts) (serving []*diag.IngressControllerFacts, reasons []string, maybe bool) {
	for i := range c.IngressControllers {
		ctrl := &c.IngressControllers[i]
		name := ctrlName(ctrl)
		if ctrl.Implementation != diag.IngressNginx {
			reasons = append(reasons, fmt.Sprintf("%s: %s, whose class rules and certificate handling ksdoctor does not model", name, ctrl.Implementation))
			continue
		}
		if ctrl.Kind == "Deployment" && ctrl.Replicas == 0 {
			reasons = append(reasons, name+": does not serve it: scaled to zero replicas")
			continue
		}
		v, why := nginxServes(c, ctrl, ing)
		switch v {
		case triYes:
			serving = append(serving, ctrl)
			reasons = append(reasons, name+": serves it: "+why)
		case triMaybe:
			maybe = true
			reasons = append(reasons, name+": cannot tell: "+why)
		default:
			reasons = append(reasons, name+": does not serve it: "+why)
		}
	}
	return serving, reasons, maybe
}

// ctrlName is a controller as the report names it.
func ctrlName(ctrl *diag.IngressControllerFacts) string {
	s := ctrl.Ref()
	if ctrl.KubeSphere != "" {
		s += " (KubeSphere " + ctrl.KubeSphere + ")"
	}
	impl := ctrl.Implementation
	if ctrl.Version != "" {
		impl += " " + ctrl.Version
	}
	return s + " [" + impl + "]"
}
