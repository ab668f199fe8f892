package fleettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// Kubelet is what the stand-in plays on one node.
type Kubelet int

// What a node's stand-in kubelet does with its pod.
const (
	NoKubelet    Kubelet = iota // nothing: the pod stays Pending with no status
	Succeeds                    // the pod ends Succeeded (its log comes from Logs)
	ImageMissing                // the pod waits in ImagePullBackOff, with the kubelet's event
	Fails                       // the container exits 3 (the sweep could not run; 1, 2 and 5 come with a report)
)

// StandIn is NOT kube-controller-manager and NOT a kubelet. The test
// apiserver runs neither, so this plays their parts in the API only: it
// watches the sweep's Jobs and, for each, creates the pod the Job
// controller would (the Job's pod template, its labels plus job-name and
// controller-uid, an owner reference to the Job); then, for a node with a
// stand-in kubelet, writes the pod status and events a kubelet would.
// Nothing runs on any node: a Succeeded pod's log is served by Logs.
type StandIn struct {
	cs     kubernetes.Interface
	ns     string
	behave func(node string) Kubelet

	mu   sync.Mutex
	jobs []batchv1.Job
	errs []error
	seen chan struct{} // one value per Job handled
	done chan struct{}
}

// StartStandIn starts the stand-in on namespace ns until ctx ends.
func StartStandIn(ctx context.Context, cs kubernetes.Interface, ns string, behave func(node string) Kubelet) (*StandIn, error) {
	w, err := cs.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{LabelSelector: fleet.LabelManagedBy + "=" + fleet.ManagedBy, ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("stand-in job controller: watch jobs: %w", err)
	}
	s := &StandIn{cs: cs, ns: ns, behave: behave, seen: make(chan struct{}, 4096), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if ev.Type == watch.Error {
					s.mu.Lock()
					s.errs = append(s.errs, fmt.Errorf("stand-in job controller: watch: %v", ev.Object))
					s.mu.Unlock()
					return
				}
				job, isJob := ev.Object.(*batchv1.Job)
				if !isJob || ev.Type != watch.Added {
					continue
				}
				s.mu.Lock()
				s.jobs = append(s.jobs, *job.DeepCopy())
				s.mu.Unlock()
				if err := s.run(ctx, job); err != nil && ctx.Err() == nil {
					s.mu.Lock()
					s.errs = append(s.errs, err)
					s.mu.Unlock()
				}
				s.seen <- struct{}{}
			}
		}
	}()
	return s, nil
}

// Wait blocks until the stand-in stopped (its ctx ended).
func (s *StandIn) Wait() { <-s.done }

// Seen returns a channel that yields once per Job handled.
func (s *StandIn) Seen() <-chan struct{} { return s.seen }

// Jobs returns the Jobs seen, as the API stored them.
func (s *StandIn) Jobs() []batchv1.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]batchv1.Job(nil), s.jobs...)
}

// Err returns the stand-in's first error (a pod it could not create or update).
func (s *StandIn) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		return s.errs[0]
	}
	return nil
}

func suffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])[:5]
}

// run creates the Job's pod, as the Job controller would, and plays the
// node's kubelet.
func (s *StandIn) run(ctx context.Context, job *batchv1.Job) error {
	labels := map[string]string{}
	for k, v := range job.Spec.Template.Labels {
		labels[k] = v
	}
	labels["batch.kubernetes.io/job-name"] = job.Name
	labels["job-name"] = job.Name
	labels["batch.kubernetes.io/controller-uid"] = string(job.UID)
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-" + suffix(), Namespace: job.Namespace, Labels: labels,
			Annotations:     job.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: job.Spec.Template.Spec,
	}
	created, err := s.cs.CoreV1().Pods(s.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("stand-in job controller: create pod for %s: %w", job.Name, err)
	}
	node := pod.Spec.NodeName
	c := pod.Spec.Containers[0]
	now := metav1.NewTime(time.Now())
	switch s.behave(node) {
	case NoKubelet:
		return nil
	case Succeeds:
		_, err = kube.SetPodStatus(ctx, s.cs, created, corev1.PodStatus{Phase: corev1.PodSucceeded, StartTime: &now,
			ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}})
	case Fails:
		_, err = kube.SetPodStatus(ctx, s.cs, created, corev1.PodStatus{Phase: corev1.PodFailed, StartTime: &now,
			ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}}}})
	case ImageMissing:
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		_, err = kube.SetPodStatus(ctx, s.cs, created, corev1.PodStatus{Phase: corev1.PodPending, StartTime: &now,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: msg}}}}})
		if err == nil {
			// The kubelet's event, worded as containerd 1.6 words a missing image.
			_, err = s.cs.CoreV1().Events(s.ns).Create(ctx, &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: created.Name + ".pull", Namespace: s.ns},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: s.ns, Name: created.Name, UID: created.UID},
				Reason:         "Failed", Type: corev1.EventTypeWarning, FirstTimestamp: now, LastTimestamp: now, Count: 1,
				Source:  corev1.EventSource{Component: "kubelet", Host: node},
				Message: fmt.Sprintf("Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/%s\": failed to resolve reference \"docker.io/library/%s\": docker.io/library/%s: not found", c.Image, c.Image, c.Image, c.Image),
			}, metav1.CreateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("stand-in kubelet on %s: %w", node, err)
	}
	return nil
}

// Logs is a fleet.LogReader for pods that never ran: pods/log needs a
// kubelet, which the test apiserver has not, so it returns ByNode(the
// pod's node) instead, e.g. a real report from the real binary's local
// sweep of a testbed node.
type Logs struct {
	CS     kubernetes.Interface
	ByNode func(node string) []byte
}

// ReadLog implements fleet.LogReader.
func (l Logs) ReadLog(ctx context.Context, ns, pod, container string) ([]byte, error) {
	p, err := l.CS.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if container != fleet.ContainerName {
		return nil, fmt.Errorf("no container %q in %s", container, pod)
	}
	return l.ByNode(p.Spec.NodeName), nil
}
