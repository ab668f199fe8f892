package kubeapi

import (
	"context"
	"net/http"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// BatchV1 returns the batch/v1 kinds. It is not part of Interface (the
// node checks never need it); the fleet sweep uses *Clientset directly.
func (c *Clientset) BatchV1() BatchV1 { return BatchV1{c.batch} }

// BatchV1 is the batch group, version v1.
type BatchV1 struct{ rc rest.Interface }

// Jobs in namespace ns.
func (g BatchV1) Jobs(ns string) Resource[batchv1.Job, batchv1.JobList, *batchv1.Job, *batchv1.JobList] {
	return Resource[batchv1.Job, batchv1.JobList, *batchv1.Job, *batchv1.JobList]{g.rc, ns, "jobs"}
}

// Events in namespace ns (core/v1 events, what kubectl describe shows).
func (g CoreV1) Events(ns string) Resource[corev1.Event, corev1.EventList, *corev1.Event, *corev1.EventList] {
	return Resource[corev1.Event, corev1.EventList, *corev1.Event, *corev1.EventList]{g.rc, ns, "events"}
}

// Create creates obj and returns the object as stored.
func (r Resource[T, L, PT, PL]) Create(ctx context.Context, obj *T, opts metav1.CreateOptions) (*T, error) {
	out := PT(new(T))
	err := r.req(http.MethodPost).VersionedParams(&opts, parameterCodec).Body(PT(obj)).Do(ctx).Into(out)
	return out, err
}

// Watch starts one watch on the resource (opts.LabelSelector,
// opts.ResourceVersion); the caller stops it.
func (r Resource[T, L, PT, PL]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	opts.Watch = true
	return r.req(http.MethodGet).VersionedParams(&opts, parameterCodec).Timeout(timeout).Watch(ctx)
}

// PodLogs reads the log of one container of pod name in namespace ns,
// through the pods/log subresource, capped at opts.LimitBytes.
func (g CoreV1) PodLogs(ctx context.Context, ns, name string, opts corev1.PodLogOptions) ([]byte, error) {
	return g.rc.Get().Namespace(ns).Resource("pods").Name(name).SubResource("log").
		VersionedParams(&opts, parameterCodec).Do(ctx).Raw()
}
