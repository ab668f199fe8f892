package gather

import (
	"context"
	"path"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// KubeSphere gateway names: ks-apiserver (3.1) and the gateway operator
// (3.2+) run each project gateway as Deployment kubesphere-router-NS in
// kubesphere-controls-system; the cluster gateway is the one of
// kubesphere-system.
const (
	KubeSphereGatewayNamespace = "kubesphere-controls-system"
	KubeSphereGatewayPrefix    = "kubesphere-router-"
)

// IngressFacts reduces an Ingress to the facts the checks judge.
func IngressFacts(in *networkingv1.Ingress) diag.IngressFacts {
	f := diag.IngressFacts{Namespace: in.Namespace, Name: in.Name, CreatedAt: in.CreationTimestamp.UTC()}
	if in.Spec.IngressClassName != nil {
		f.ClassName = *in.Spec.IngressClassName
		f.Class = f.ClassName
	}
	if c, ok := in.Annotations["kubernetes.io/ingress.class"]; ok {
		f.ClassAnnotation = &c
		if f.Class == "" {
			f.Class = c
		}
	}
	for _, r := range in.Spec.Rules {
		if r.Host != "" && !slices.Contains(f.RuleHosts, r.Host) {
			f.RuleHosts = append(f.RuleHosts, r.Host)
		}
	}
	for _, t := range in.Spec.TLS {
		f.TLS = append(f.TLS, diag.IngressTLS{Hosts: slices.Clone(t.Hosts), SecretName: t.SecretName})
	}
	return f
}

// IngressClassFacts reduces an IngressClass.
func IngressClassFacts(ic *networkingv1.IngressClass) diag.IngressClassFacts {
	return diag.IngressClassFacts{
		Name:       ic.Name,
		Controller: ic.Spec.Controller,
		Default:    ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true",
	}
}

// DeploymentIngressController returns the ingress controller a Deployment
// runs, if any.
func DeploymentIngressController(d *appsv1.Deployment) (diag.IngressControllerFacts, bool) {
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	return ingressController("Deployment", d.Namespace, d.Name, &d.Spec.Template.Spec, replicas, d.Status.AvailableReplicas)
}

// DaemonSetIngressController returns the ingress controller a DaemonSet
// runs, if any.
func DaemonSetIngressController(ds *appsv1.DaemonSet) (diag.IngressControllerFacts, bool) {
	return ingressController("DaemonSet", ds.Namespace, ds.Name, &ds.Spec.Template.Spec, ds.Status.DesiredNumberScheduled, ds.Status.NumberAvailable)
}

// implementations recognise a controller by its image repository (the
// last path elements, registry and tag stripped) or binary.
var implementations = []struct {
	impl  string
	match func(repo string, argv []string) bool
}{
	{diag.IngressNginx, func(repo string, argv []string) bool {
		return slices.ContainsFunc(argv, func(a string) bool { return path.Base(a) == "nginx-ingress-controller" }) ||
			strings.HasSuffix(repo, "/nginx-ingress-controller") || repo == "nginx-ingress-controller" ||
			strings.HasSuffix(repo, "ingress-nginx/controller") || strings.HasSuffix(repo, "ingress-nginx/controller-chroot")
	}},
	{diag.IngressNginxInc, func(repo string, _ []string) bool {
		return strings.HasSuffix(repo, "nginx/nginx-ingress") || strings.HasSuffix(repo, "nginx-ic/nginx-plus-ingress")
	}},
	{diag.IngressTraefik, func(repo string, _ []string) bool { return path.Base(repo) == "traefik" }},
	{diag.IngressHAProxy, func(repo string, _ []string) bool {
		return strings.HasSuffix(repo, "haproxytech/kubernetes-ingress") || path.Base(repo) == "haproxy-ingress"
	}},
	{diag.IngressKong, func(repo string, _ []string) bool {
		return strings.HasSuffix(repo, "kong/kubernetes-ingress-controller") || path.Base(repo) == "kong-ingress-controller"
	}},
	{diag.IngressContour, func(repo string, _ []string) bool { return strings.HasSuffix(repo, "projectcontour/contour") }},
	{diag.IngressAPISIX, func(repo string, _ []string) bool { return strings.HasSuffix(repo, "apisix-ingress-controller") }},
}

func ingressController(kind, ns, name string, spec *corev1.PodSpec, replicas, available int32) (diag.IngressControllerFacts, bool) {
	for _, c := range spec.Containers {
		repo, tag := SplitImage(c.Image)
		argv := slices.Concat(c.Command, c.Args)
		for _, im := range implementations {
			if !im.match(repo, argv) {
				continue
			}
			f := diag.IngressControllerFacts{
				Kind: kind, Namespace: ns, Name: name, Container: c.Name, Image: c.Image,
				Implementation: im.impl, Version: ImageVersion(tag), Replicas: replicas, Available: available,
			}
			if ns == KubeSphereGatewayNamespace && strings.HasPrefix(name, KubeSphereGatewayPrefix) {
				if project := strings.TrimPrefix(name, KubeSphereGatewayPrefix); project == "kubesphere-system" {
					f.KubeSphere = "cluster gateway"
				} else {
					f.KubeSphere = "project gateway of " + project
				}
			}
			if im.impl == diag.IngressNginx {
				nginxArgs(&f, argv, c.Env)
			}
			return f, true
		}
	}
	return diag.IngressControllerFacts{}, false
}

// SplitImage splits an image reference into its repository (without the
// registry host) and tag ("" for a digest-only or untagged reference).
func SplitImage(image string) (repo, tag string) {
	ref, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:i], ref[i+1:]
	}
	if first, rest, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		ref = rest
	}
	return ref, tag
}

var versionRe = regexp.MustCompile(`^(?:[a-z]+-)?v?(\d+)\.(\d+)(?:\.(\d+))?`)

// ImageVersion returns "vX.Y.Z" from an image tag ("v1.3.1", "0.35.0",
// "ks-v3.3.2", "v3.2.0-2.249.1"), or "" when the tag names no version.
func ImageVersion(tag string) string {
	m := versionRe.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	if m[3] == "" {
		m[3] = "0"
	}
	return "v" + m[1] + "." + m[2] + "." + m[3]
}

// varRe finds Kubernetes $(VAR) references in container arguments.
var varRe = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// nginxArgs reads the ingress-nginx flags that decide what it serves.
// pflag accepts --flag=value and --flag value; $(VAR) references are
// expanded from the container's env (literal values and the pod's
// namespace), as the kubelet does.
func nginxArgs(f *diag.IngressControllerFacts, argv []string, env []corev1.EnvVar) {
	vars := map[string]string{}
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			vars[e.Name] = f.Namespace
		}
	}
	expand := func(flag, v string) string {
		return varRe.ReplaceAllStringFunc(v, func(ref string) string {
			name := varRe.FindStringSubmatch(ref)[1]
			if val, ok := vars[name]; ok {
				return val
			}
			f.Unresolved = append(f.Unresolved, "--"+flag+"="+v)
			return ref
		})
	}
	boolean := map[string]bool{"watch-ingress-without-class": true, "ingress-class-by-name": true}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !hasVal && !boolean[name] && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
			i++
			val, hasVal = argv[i], true
		}
		if !nginxFlags[name] {
			continue
		}
		val = expand(name, val)
		on := !hasVal || val == "true"
		switch name {
		case "ingress-class":
			f.IngressClass = &val
		case "controller-class":
			f.ControllerClass = val
		case "watch-namespace":
			f.WatchNamespace = val
		case "watch-namespace-selector":
			f.WatchNamespaceSelector = val
		case "watch-ingress-without-class":
			f.WatchWithoutClass = on
		case "ingress-class-by-name":
			f.IngressClassByName = on
		case "default-ssl-certificate":
			f.DefaultSSLCertificate = val
		}
	}
}

// nginxFlags are the ingress-nginx flags read.
var nginxFlags = map[string]bool{
	"ingress-class": true, "controller-class": true, "watch-namespace": true, "watch-namespace-selector": true,
	"watch-ingress-without-class": true, "ingress-class-by-name": true, "default-ssl-certificate": true,
}

// listIngressControllers lists Deployments, DaemonSets and IngressClasses
// across the cluster, one paginated List per kind, keeping only the
// workloads that run an ingress controller.
func listIngressControllers(ctx context.Context, cs kubeapi.Interface) ([]diag.IngressControllerFacts, []diag.IngressClassFacts, error) {
	ctrls := []diag.IngressControllerFacts{}
	opts := metav1.ListOptions{Limit: clusterPageSize}
	for {
		list, err := cs.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		for i := range list.Items {
			if f, ok := DeploymentIngressController(&list.Items[i]); ok {
				ctrls = append(ctrls, f)
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	opts = metav1.ListOptions{Limit: clusterPageSize}
	for {
		list, err := cs.AppsV1().DaemonSets(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		for i := range list.Items {
			if f, ok := DaemonSetIngressController(&list.Items[i]); ok {
				ctrls = append(ctrls, f)
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	classes := []diag.IngressClassFacts{}
	opts = metav1.ListOptions{Limit: clusterPageSize}
	for {
		list, err := cs.NetworkingV1().IngressClasses().List(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		for i := range list.Items {
			classes = append(classes, IngressClassFacts(&list.Items[i]))
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	SortIngressControllers(ctrls)
	return ctrls, classes, nil
}

// SortIngressControllers orders controllers by namespace, name.
func SortIngressControllers(cs []diag.IngressControllerFacts) {
	slices.SortFunc(cs, func(a, b diag.IngressControllerFacts) int {
		return strings.Compare(a.Namespace+"/"+a.Name+"/"+a.Kind, b.Namespace+"/"+b.Name+"/"+b.Kind)
	})
}

// TLSSecretFacts reduces a Secret to public certificate facts (nil secret:
// not found).
func TLSSecretFacts(ns, name string, sec *corev1.Secret) *diag.TLSSecretFacts {
	ref := &diag.TLSSecretFacts{Namespace: ns, Name: name}
	if sec == nil {
		return ref
	}
	ref.Found = true
	ref.Type = string(sec.Type)
	ParseTLSSecretData(ref, sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	return ref
}
