// Package kubeapi is the Kubernetes client ksdoctor links: typed access to
// the few kinds it reads and changes (core/v1, apps/v1 and networking/v1),
// with a scheme of only those groups, on client-go's REST client.
//
// It replaces client-go's full clientset, whose scheme registers every API
// group in its init and links the types and clients of all of them: that
// cost about 11 MiB of the release binary and nearly half of its start-up CPU
// (docs/startup.md). The method chains are the clientset's
// (cs.CoreV1().Pods(ns).List(ctx, opts)), so code written against
// kubernetes.Interface reads the same; a kind not listed here is one line in
// its group's type. Requests, content types (protobuf), rate limits, auth
// and errors (apierrors.IsNotFound …) are client-go's own.
package kubeapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// The scheme knows the kinds of the three groups, and metav1's options and
// Status for each. It is built on first use, not in init, so commands that
// never reach a cluster do not pay for it at start.
var (
	schemeOnce     sync.Once
	scheme         *runtime.Scheme
	codecs         serializer.CodecFactory
	parameterCodec runtime.ParameterCodec
)

func buildScheme() {
	scheme = runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err) // a programming error: the generated registrations conflict
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs = serializer.NewCodecFactory(scheme)
	parameterCodec = runtime.NewParameterCodec(scheme)
}

// Codecs returns the serializers (JSON, YAML, protobuf) of the scheme.
func Codecs() serializer.CodecFactory {
	schemeOnce.Do(buildScheme)
	return codecs
}

// Interface is what the gatherer and the executor use; *Clientset is the
// implementation.
type Interface interface {
	CoreV1() CoreV1
	AppsV1() AppsV1
	NetworkingV1() NetworkingV1
	Discovery() Discovery
}

// Clientset holds one REST client per group, sharing one HTTP client and one
// rate limiter, as client-go's clientset does.
type Clientset struct {
	core, apps, networking, batch, discovery rest.Interface
}

// NewForConfig builds the clients for cfg (which it does not change).
func NewForConfig(cfg *rest.Config) (*Clientset, error) {
	c := *cfg
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if c.RateLimiter == nil && c.QPS > 0 {
		if c.Burst <= 0 {
			return nil, fmt.Errorf("kubernetes client: burst must be above 0 when QPS is set")
		}
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	schemeOnce.Do(buildScheme)
	hc, err := rest.HTTPClientFor(&c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cs := &Clientset{}
	for _, g := range []struct {
		gv   schema.GroupVersion
		path string
		to   *rest.Interface
	}{
		{corev1.SchemeGroupVersion, "/api", &cs.core},
		{appsv1.SchemeGroupVersion, "/apis", &cs.apps},
		{networkingv1.SchemeGroupVersion, "/apis", &cs.networking},
		{batchv1.SchemeGroupVersion, "/apis", &cs.batch},
	} {
		gc := c
		gv := g.gv
		gc.GroupVersion, gc.APIPath = &gv, g.path
		gc.NegotiatedSerializer = codecs.WithoutConversion()
		if *g.to, err = rest.RESTClientForConfigAndClient(&gc, hc); err != nil {
			return nil, fmt.Errorf("kubernetes client for %s: %w", gv, err)
		}
	}
	if cs.discovery, err = discoveryClient(c, hc); err != nil {
		return nil, err
	}
	return cs, nil
}

// discoveryClient is an unversioned client for raw paths (/version, a
// service proxy), set up as client-go's discovery client is.
func discoveryClient(c rest.Config, hc *http.Client) (rest.Interface, error) {
	c.APIPath, c.GroupVersion = "", nil
	codec := runtime.NoopEncoder{Decoder: codecs.UniversalDecoder()}
	c.NegotiatedSerializer = serializer.NegotiatedSerializerWrapper(runtime.SerializerInfo{Serializer: codec})
	rc, err := rest.UnversionedRESTClientForConfigAndClient(&c, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}
	return rc, nil
}

// CoreV1 returns the core/v1 kinds.
func (c *Clientset) CoreV1() CoreV1 { return CoreV1{c.core} }

// AppsV1 returns the apps/v1 kinds.
func (c *Clientset) AppsV1() AppsV1 { return AppsV1{c.apps} }

// NetworkingV1 returns the networking.k8s.io/v1 kinds.
func (c *Clientset) NetworkingV1() NetworkingV1 { return NetworkingV1{c.networking} }

// Discovery returns the client for raw, unversioned paths.
func (c *Clientset) Discovery() Discovery { return Discovery{c.discovery} }

// Discovery reaches raw paths: Discovery().RESTClient().Get().AbsPath(p).
type Discovery struct{ rc rest.Interface }

// RESTClient returns the unversioned REST client.
func (d Discovery) RESTClient() rest.Interface { return d.rc }

// CoreV1 is the core group, version v1.
type CoreV1 struct{ rc rest.Interface }

// Pods in namespace ns ("" for all namespaces).
func (g CoreV1) Pods(ns string) Resource[corev1.Pod, corev1.PodList, *corev1.Pod, *corev1.PodList] {
	return Resource[corev1.Pod, corev1.PodList, *corev1.Pod, *corev1.PodList]{g.rc, ns, "pods"}
}

// Nodes of the cluster.
func (g CoreV1) Nodes() Resource[corev1.Node, corev1.NodeList, *corev1.Node, *corev1.NodeList] {
	return Resource[corev1.Node, corev1.NodeList, *corev1.Node, *corev1.NodeList]{g.rc, "", "nodes"}
}

// Secrets in namespace ns.
func (g CoreV1) Secrets(ns string) Resource[corev1.Secret, corev1.SecretList, *corev1.Secret, *corev1.SecretList] {
	return Resource[corev1.Secret, corev1.SecretList, *corev1.Secret, *corev1.SecretList]{g.rc, ns, "secrets"}
}

// ConfigMaps in namespace ns.
func (g CoreV1) ConfigMaps(ns string) Resource[corev1.ConfigMap, corev1.ConfigMapList, *corev1.ConfigMap, *corev1.ConfigMapList] {
	return Resource[corev1.ConfigMap, corev1.ConfigMapList, *corev1.ConfigMap, *corev1.ConfigMapList]{g.rc, ns, "configmaps"}
}

// Services in namespace ns.
func (g CoreV1) Services(ns string) Resource[corev1.Service, corev1.ServiceList, *corev1.Service, *corev1.ServiceList] {
	return Resource[corev1.Service, corev1.ServiceList, *corev1.Service, *corev1.ServiceList]{g.rc, ns, "services"}
}

// Namespaces of the cluster.
func (g CoreV1) Namespaces() Resource[corev1.Namespace, corev1.NamespaceList, *corev1.Namespace, *corev1.NamespaceList] {
	return Resource[corev1.Namespace, corev1.NamespaceList, *corev1.Namespace, *corev1.NamespaceList]{g.rc, "", "namespaces"}
}

// AppsV1 is the apps group, version v1.
type AppsV1 struct{ rc rest.Interface }

// Deployments in namespace ns ("" for all namespaces).
func (g AppsV1) Deployments(ns string) Resource[appsv1.Deployment, appsv1.DeploymentList, *appsv1.Deployment, *appsv1.DeploymentList] {
	return Resource[appsv1.Deployment, appsv1.DeploymentList, *appsv1.Deployment, *appsv1.DeploymentList]{g.rc, ns, "deployments"}
}

// DaemonSets in namespace ns ("" for all namespaces).
func (g AppsV1) DaemonSets(ns string) Resource[appsv1.DaemonSet, appsv1.DaemonSetList, *appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return Resource[appsv1.DaemonSet, appsv1.DaemonSetList, *appsv1.DaemonSet, *appsv1.DaemonSetList]{g.rc, ns, "daemonsets"}
}

// StatefulSets in namespace ns ("" for all namespaces).
func (g AppsV1) StatefulSets(ns string) Resource[appsv1.StatefulSet, appsv1.StatefulSetList, *appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return Resource[appsv1.StatefulSet, appsv1.StatefulSetList, *appsv1.StatefulSet, *appsv1.StatefulSetList]{g.rc, ns, "statefulsets"}
}

// NetworkingV1 is the networking.k8s.io group, version v1.
type NetworkingV1 struct{ rc rest.Interface }

// Ingresses in namespace ns ("" for all namespaces).
func (g NetworkingV1) Ingresses(ns string) Resource[networkingv1.Ingress, networkingv1.IngressList, *networkingv1.Ingress, *networkingv1.IngressList] {
	return Resource[networkingv1.Ingress, networkingv1.IngressList, *networkingv1.Ingress, *networkingv1.IngressList]{g.rc, ns, "ingresses"}
}

// IngressClasses of the cluster.
func (g NetworkingV1) IngressClasses() Resource[networkingv1.IngressClass, networkingv1.IngressClassList, *networkingv1.IngressClass, *networkingv1.IngressClassList] {
	return Resource[networkingv1.IngressClass, networkingv1.IngressClassList, *networkingv1.IngressClass, *networkingv1.IngressClassList]{g.rc, "", "ingressclasses"}
}

// object is a pointer to T that is a runtime.Object.
type object[T any] interface {
	*T
	runtime.Object
}

// Resource is one kind in one namespace ("" for all namespaces, or for a
// cluster-scoped kind). T is the kind and L its list.
type Resource[T, L any, PT object[T], PL object[L]] struct {
	rc       rest.Interface
	ns, name string
}

func (r Resource[T, L, PT, PL]) req(verb string) *rest.Request {
	return r.rc.Verb(verb).UseProtobufAsDefaultIfPreferred(true).NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name)
}

// Get reads the object called name.
func (r Resource[T, L, PT, PL]) Get(ctx context.Context, name string, opts metav1.GetOptions) (*T, error) {
	out := PT(new(T))
	err := r.req(http.MethodGet).Name(name).VersionedParams(&opts, parameterCodec).Do(ctx).Into(out)
	return out, err
}

// List reads one page of objects (opts.Limit, opts.Continue).
func (r Resource[T, L, PT, PL]) List(ctx context.Context, opts metav1.ListOptions) (*L, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	out := PL(new(L))
	err := r.req(http.MethodGet).VersionedParams(&opts, parameterCodec).Timeout(timeout).Do(ctx).Into(out)
	return out, err
}

// Delete deletes the object called name (opts carries preconditions).
func (r Resource[T, L, PT, PL]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.req(http.MethodDelete).Name(name).Body(&opts).Do(ctx).Error()
}

// Patch applies a patch of type pt to the object called name.
func (r Resource[T, L, PT, PL]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*T, error) {
	out := PT(new(T))
	err := r.rc.Patch(pt).UseProtobufAsDefaultIfPreferred(true).NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).SubResource(subresources...).
		VersionedParams(&opts, parameterCodec).Body(data).Do(ctx).Into(out)
	return out, err
}
