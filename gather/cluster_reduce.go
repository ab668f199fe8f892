package gather

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ksdoctor/ksdoctor/diag"
)

// ClusterFromObjects reduces Kubernetes objects (as `kubectl get -o yaml`
// prints them) to the cluster facts, with the same reducers the gatherer
// applies to what the API server returns: a recorded cluster replays
// without an API server. installerVersion is the ks-installer
// ClusterConfiguration's version label ("" when absent).
func ClusterFromObjects(objs []runtime.Object, installerVersion string) (*diag.ClusterFacts, error) {
	f := &diag.ClusterFacts{Server: "recorded", Reachable: true, IngressControllersGathered: true,
		Ingresses: []diag.IngressFacts{}, IngressControllers: []diag.IngressControllerFacts{}, IngressClasses: []diag.IngressClassFacts{},
		FailedPods: []diag.PodFacts{}, CrashLoopPods: []diag.PodFacts{}, Nodes: []diag.NodeFacts{}}
	secrets := map[string]*corev1.Secret{}
	devops := DevOpsObjects{InstallerVersion: installerVersion}
	for _, o := range objs {
		switch o := o.(type) {
		case *networkingv1.Ingress:
			f.Ingresses = append(f.Ingresses, IngressFacts(o))
		case *networkingv1.IngressClass:
			f.IngressClasses = append(f.IngressClasses, IngressClassFacts(o))
		case *corev1.Secret:
			secrets[o.Namespace+"/"+o.Name] = o
		case *appsv1.Deployment:
			if c, ok := DeploymentIngressController(o); ok {
				f.IngressControllers = append(f.IngressControllers, c)
			}
			devops.Deployments = append(devops.Deployments, *o)
		case *appsv1.DaemonSet:
			if c, ok := DaemonSetIngressController(o); ok {
				f.IngressControllers = append(f.IngressControllers, c)
			}
		case *corev1.ConfigMap:
			switch {
			case o.Namespace == JenkinsNamespace && o.Name == JenkinsConfigMap:
				devops.CascConfigMap = o
			case o.Namespace == JenkinsNamespace && o.Name == DevOpsConfigMap:
				devops.DevOpsConfig = o
			}
		case *corev1.Pod:
			devops.Pods = append(devops.Pods, *o)
			f.PodsSeen++
			switch {
			case o.Status.Phase == corev1.PodFailed:
				f.FailedPods = append(f.FailedPods, podFacts(o))
			case o.Status.Phase != corev1.PodSucceeded && crashLooping(o):
				f.CrashLoopPods = append(f.CrashLoopPods, podFacts(o))
			}
		case *corev1.Namespace:
		default:
			return nil, fmt.Errorf("recorded cluster: %T is not a kind ksdoctor reads", o)
		}
	}
	SortIngressControllers(f.IngressControllers)
	sortPods(f.FailedPods)
	sortPods(f.CrashLoopPods)
	// The secrets the Ingresses and the controllers' default certificates
	// name, as the gatherer reads them.
	f.TLSSecrets = map[string]*diag.TLSSecretFacts{}
	ref := func(ns, name string) {
		if key := ns + "/" + name; f.TLSSecrets[key] == nil {
			f.TLSSecrets[key] = TLSSecretFacts(ns, name, secrets[key])
		}
	}
	for _, ing := range f.Ingresses {
		for _, t := range ing.TLS {
			if t.SecretName != "" {
				ref(ing.Namespace, t.SecretName)
			}
		}
	}
	for _, c := range f.IngressControllers {
		if ns, name, ok := strings.Cut(c.DefaultSSLCertificate, "/"); ok {
			ref(ns, name)
		}
	}
	j, err := JenkinsFacts(devops)
	if err != nil {
		return nil, err
	}
	f.Jenkins = j
	return f, nil
}
