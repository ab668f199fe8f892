package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// DefaultImage is the container image of pods built by NewPod; nothing ever pulls it.
const DefaultImage = "registry.k8s.io/pause:3.10"

// PodOptions shapes a pod built by NewPod. The zero value gives one container "main"
// running DefaultImage, not bound to a node.
type PodOptions struct {
	NodeName      string               // "" leaves the pod unscheduled
	Containers    []string             // container names; default {"main"}
	Image         string               // default DefaultImage
	Labels        map[string]string    //
	Annotations   map[string]string    //
	RestartPolicy corev1.RestartPolicy // default Always
	// OwnerReferences, e.g. a ReplicaSet or Job; nothing checks the owner exists.
	OwnerReferences []metav1.OwnerReference
	// Status, when its Phase is set, is written through the status subresource after
	// the pod is created (by CreatePod and CreatePods).
	Status corev1.PodStatus
}

// NewPod builds (does not create) a pod in ns.
func NewPod(ns, name string, o PodOptions) *corev1.Pod {
	names := o.Containers
	if len(names) == 0 {
		names = []string{"main"}
	}
	image := o.Image
	if image == "" {
		image = DefaultImage
	}
	containers := make([]corev1.Container, 0, len(names))
	for _, n := range names {
		containers = append(containers, corev1.Container{Name: n, Image: image})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       ns,
			Name:            name,
			Labels:          o.Labels,
			Annotations:     o.Annotations,
			OwnerReferences: o.OwnerReferences,
		},
		Spec: corev1.PodSpec{
			NodeName:      o.NodeName,
			Containers:    containers,
			RestartPolicy: o.RestartPolicy,
		},
		Status: o.Status,
	}
}

// EnsureNamespace creates namespace name unless it exists.
func EnsureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// CreatePod creates NewPod(ns, name, o) and, if o.Status.Phase is set, writes o.Status
// through the status subresource. It returns the pod as stored.
func CreatePod(ctx context.Context, cs kubernetes.Interface, ns, name string, o PodOptions) (*corev1.Pod, error) {
	return createPod(ctx, cs, NewPod(ns, name, o))
}

func createPod(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) (*corev1.Pod, error) {
	status := pod.Status
	in := pod.DeepCopy()
	in.Status = corev1.PodStatus{}
	out, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, in, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if status.Phase == "" {
		return out, nil
	}
	return SetPodStatus(ctx, cs, out, status)
}

// SetPodStatus replaces pod's status with status through the status subresource
// (UpdateStatus), as a kubelet would; on a conflict it re-reads the pod and retries.
// It returns the pod as stored.
func SetPodStatus(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, status corev1.PodStatus) (*corev1.Pod, error) {
	pods := cs.CoreV1().Pods(pod.Namespace)
	cur := pod.DeepCopy()
	var out *corev1.Pod
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur.Status = *status.DeepCopy()
		var err error
		out, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			fresh, getErr := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if getErr != nil {
				return getErr
			}
			cur = fresh
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return out, nil
}

// CreatePods creates pods (each with its Status applied as in CreatePod) with at most
// workers requests in flight (workers < 1 means 16). It stops at the first error and
// returns it; created holds the pods stored so far, in no particular order.
func CreatePods(ctx context.Context, cs kubernetes.Interface, pods []*corev1.Pod, workers int) (created []*corev1.Pod, err error) {
	if workers < 1 {
		workers = 16
	}
	workers = min(workers, len(pods))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	jobs := make(chan *corev1.Pod)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	created = make([]*corev1.Pod, 0, len(pods))
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				out, err := createPod(ctx, cs, p)
				mu.Lock()
				if err != nil {
					if len(errs) == 0 {
						cancel(err)
					}
					errs = append(errs, err)
				} else {
					created = append(created, out)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, p := range pods {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return created, fmt.Errorf("create %d pods (%d created, %d failed): %w", len(pods), len(created), len(errs), errs[0])
	}
	if len(created) < len(pods) {
		return created, fmt.Errorf("create %d pods: only %d created: %w", len(pods), len(created), ctx.Err())
	}
	return created, nil
}

// GrantClusterRole binds clusterRole (e.g. "view", "edit", "cluster-admin") to user
// across the cluster with a ClusterRoleBinding named "ksdt:<user>:<clusterRole>". It
// first runs AggregateClusterRoles, since "view", "edit" and "admin" are empty without it.
func GrantClusterRole(ctx context.Context, cs kubernetes.Interface, user, clusterRole string) error {
	if err := AggregateClusterRoles(ctx, cs); err != nil {
		return err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ksdt:" + user + ":" + clusterRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("bind cluster role %s to %s: %w", clusterRole, user, err)
	}
	return nil
}

// EvictedStatus is the status kubelet leaves on a pod it evicted for node pressure:
// phase Failed, reason Evicted.
func EvictedStatus(message string) corev1.PodStatus {
	if message == "" {
		message = "The node had condition: [DiskPressure]. "
	}
	return corev1.PodStatus{
		Phase:   corev1.PodFailed,
		Reason:  "Evicted",
		Message: message,
	}
}

// CrashLoopStatus is a Running pod whose container is waiting in CrashLoopBackOff after
// restarts restarts, the last one exiting with exitCode.
func CrashLoopStatus(container string, restarts, exitCode int32) corev1.PodStatus {
	now := metav1.Now()
	return corev1.PodStatus{
		Phase:     corev1.PodRunning,
		StartTime: &now,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name:         container,
			Image:        DefaultImage,
			RestartCount: restarts,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off 5m0s restarting failed container=%s", container),
			}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason:     "Error",
				ExitCode:   exitCode,
				StartedAt:  now,
				FinishedAt: now,
			}},
		}},
	}
}

// AggregateClusterRoles does once what kube-controller-manager's clusterrole-aggregation
// controller does continuously: it sets the rules of every ClusterRole with an
// aggregationRule (the bootstrap "admin", "edit", "view", ...) to the union of the rules of
// the ClusterRoles its selectors match. Without a controller manager those roles have no
// rules at all, so binding "view" grants nothing. Call it again after adding ClusterRoles
// labelled for aggregation.
func AggregateClusterRoles(ctx context.Context, cs kubernetes.Interface) error {
	roles := cs.RbacV1().ClusterRoles()
	// Aggregated roles can feed each other (view -> edit -> admin): repeat until stable.
	for range 5 {
		list, err := roles.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list cluster roles: %w", err)
		}
		changed := false
		for i := range list.Items {
			role := &list.Items[i]
			if role.AggregationRule == nil {
				continue
			}
			rules, err := aggregatedRules(role, list.Items)
			if err != nil {
				return err
			}
			if equality.Semantic.DeepEqual(rules, role.Rules) {
				continue
			}
			role.Rules = rules
			if _, err := roles.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update aggregated cluster role %s: %w", role.Name, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return errors.New("aggregate cluster roles: rules still changing after 5 rounds")
}

// aggregatedRules is the union, without duplicates and in role-name order, of the rules
// of the roles that role's aggregation selectors match.
func aggregatedRules(role *rbacv1.ClusterRole, all []rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b rbacv1.ClusterRole) int { return strings.Compare(a.Name, b.Name) })
	var rules []rbacv1.PolicyRule
	seen := map[string]bool{}
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			return nil, fmt.Errorf("aggregation selector of cluster role %s: %w", role.Name, err)
		}
		for _, other := range sorted {
			if other.Name == role.Name || !selector.Matches(labels.Set(other.Labels)) {
				continue
			}
			for _, r := range other.Rules {
				key := r.String()
				if seen[key] {
					continue
				}
				seen[key] = true
				rules = append(rules, r)
			}
		}
	}
	return rules, nil
}
