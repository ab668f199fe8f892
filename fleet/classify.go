package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// imageReasons are the kubelet's waiting reasons for an image it cannot get.
var imageReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}

// classify names why a node's pod gave no report, from the pod's status,
// the node's Ready condition and the pod's events.
func classify(pod *corev1.Pod, node *corev1.Node, events []corev1.Event, timeout time.Duration) (reason, detail string) {
	reason, detail = classifyStatus(pod, node, timeout)
	switch {
	case reason == ReasonTimedOut && pod != nil && pod.Status.Phase == corev1.PodPending:
		// The kubelet's events can be ahead of the pod's status: a pull
		// that failed while the status still says ContainerCreating.
		if msg := imageEvent(events); msg != "" {
			reason, detail = ReasonImageMissing, fmt.Sprintf("pod %s still Pending after %s: %s", pod.Name, timeout, msg)
		}
	case reason == ReasonFailed && pod != nil && neverStarted(pod):
		// A pod ended (the Job's deadline) while its image was still being
		// pulled: the kubelet reports the container terminated with
		// ContainerStatusUnknown, and only the events say why.
		if msg := imageEvent(events); msg != "" {
			reason, detail = ReasonImageMissing, fmt.Sprintf("pod %s ended before its container started: %s", pod.Name, msg)
		}
	}
	if ev := eventText(events); ev != "" {
		detail += "; events: " + ev
	}
	return reason, detail
}

func classifyStatus(pod *corev1.Pod, node *corev1.Node, timeout time.Duration) (string, string) {
	if pod == nil {
		return ReasonNoPod, fmt.Sprintf("the Job controller created no pod within %s (is kube-controller-manager running?)", timeout)
	}
	st := pod.Status
	for _, c := range st.ContainerStatuses {
		if w := c.State.Waiting; w != nil && imageReasons[w.Reason] {
			return ReasonImageMissing, fmt.Sprintf("image %s: %s: %s", c.Image, w.Reason, w.Message)
		}
	}
	if st.Phase == corev1.PodFailed {
		d := strings.TrimSpace(strings.Join(nonEmpty(st.Reason, st.Message), ": "))
		for _, c := range st.ContainerStatuses {
			if t := c.State.Terminated; t != nil {
				d = strings.TrimSpace(d + fmt.Sprintf(" container %s exited %d (%s) %s", c.Name, t.ExitCode, t.Reason, t.Message))
			}
		}
		if d == "" {
			d = "the pod failed without a reason"
		}
		return ReasonFailed, d
	}
	for _, c := range st.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return ReasonUnschedulable, c.Message
		}
	}
	if st.Phase == corev1.PodPending && len(st.Conditions) == 0 && len(st.ContainerStatuses) == 0 {
		return ReasonNoKubelet, fmt.Sprintf("pod %s stayed Pending with no status for %s: node %s's kubelet never picked it up (node Ready: %s)",
			pod.Name, timeout, node.Name, readyOf(node))
	}
	if st.Phase == corev1.PodRunning {
		return ReasonTimedOut, fmt.Sprintf("pod %s still running after %s", pod.Name, timeout)
	}
	d := fmt.Sprintf("pod %s still %s after %s", pod.Name, st.Phase, timeout)
	for _, c := range st.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			d += fmt.Sprintf("; container %s waiting: %s %s", c.Name, w.Reason, w.Message)
		}
	}
	return ReasonTimedOut, d
}

// neverStarted reports whether no container of the pod ever ran.
func neverStarted(pod *corev1.Pod) bool {
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil || (c.State.Terminated != nil && !c.State.Terminated.StartedAt.IsZero()) {
			return false
		}
	}
	return true
}

// imageEvent is the message of the latest event that says the kubelet
// cannot get the pod's image, or "".
func imageEvent(events []corev1.Event) string {
	var msg string
	var at time.Time
	for _, e := range events {
		failed := e.Reason == "Failed" || e.Reason == "BackOff" || e.Reason == "ErrImageNeverPull"
		image := imageReasons[strings.TrimPrefix(e.Message, "Error: ")] || strings.Contains(e.Message, "pulling image") ||
			strings.Contains(e.Message, "Failed to pull image") || strings.Contains(e.Message, "ErrImageNeverPull")
		if failed && image && !eventTime(e).Before(at) {
			msg, at = e.Reason+": "+e.Message, eventTime(e)
		}
	}
	return msg
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func readyOf(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return string(c.Status) + " " + c.Reason
		}
	}
	return "no Ready condition reported"
}

// eventText is the last three distinct event messages, oldest first.
func eventText(events []corev1.Event) string {
	sort.Slice(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	var out []string
	seen := map[string]bool{}
	for i := len(events) - 1; i >= 0 && len(out) < 3; i-- {
		s := events[i].Reason + ": " + events[i].Message
		if !seen[s] {
			seen[s] = true
			out = append([]string{s}, out...)
		}
	}
	return strings.Join(out, "; ")
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// cleanupTimeout bounds the deletes after a sweep (also after ctrl+c).
const cleanupTimeout = 60 * time.Second

// cleanup deletes the sweep's Jobs (propagation Background) and pods. A pod
// that never started a container (no kubelet, image missing) or has
// finished is deleted at once (grace 0: no process to stop); a running one
// gets its grace period.
func cleanup(ctx context.Context, o Options, runs map[string]*nodeRun) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	bg := metav1.DeletePropagationBackground
	parallel(o.Parallel, sortedRuns(runs), func(r *nodeRun) {
		if r.out.Job == "" || r.created.IsZero() || (r.out.Reason == ReasonCreateFailed) {
			return
		}
		err := o.Client.BatchV1().Jobs(o.Namespace).Delete(ctx, r.out.Job, metav1.DeleteOptions{PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			mu.Lock()
			errs = append(errs, fmt.Errorf("delete Job %s: %w", r.out.Job, err))
			mu.Unlock()
		}
	})
	pods, err := o.Client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector(o.SweepID)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list pods to delete: %w", err))...)
	}
	ps := make([]*corev1.Pod, 0, len(pods.Items))
	for i := range pods.Items {
		ps = append(ps, &pods.Items[i])
	}
	parallel(o.Parallel, ps, func(p *corev1.Pod) {
		opts := metav1.DeleteOptions{}
		if p.Status.Phase != corev1.PodRunning {
			opts.GracePeriodSeconds = ptr(int64(0))
		}
		if err := o.Client.CoreV1().Pods(o.Namespace).Delete(ctx, p.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			mu.Lock()
			errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
			mu.Unlock()
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("clean up sweep %s (list them with -l %s): %w", o.SweepID, Selector(o.SweepID), errors.Join(errs...))
	}
	return nil
}

// parallel runs f on each item, n at a time.
func parallel[T any](n int, items []T, f func(T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func(it T) {
			defer func() { <-sem; wg.Done() }()
			f(it)
		}(it)
	}
	wg.Wait()
}
