package fleet

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestClassify: each reason a node gives no report, from the pod status a
// kubelet (or none) leaves and the events.
func TestClassify(t *testing.T) {
	node := &corev1.Node{}
	node.Name = "n1"
	pod := func(st corev1.PodStatus) *corev1.Pod {
		p := &corev1.Pod{Status: st}
		p.Name = "ksdoctor-x-0-abcde"
		return p
	}
	waiting := func(reason string) corev1.PodStatus {
		return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "ksdoctor", Image: "ksdoctor:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}}}}
	}
	for _, tc := range []struct {
		name, reason, detail string
		pod                  *corev1.Pod
		events               []corev1.Event
	}{
		{"no pod", ReasonNoPod, "created no pod", nil, nil},
		{"no kubelet", ReasonNoKubelet, "never picked it up (node Ready: no Ready condition", pod(corev1.PodStatus{Phase: corev1.PodPending}), nil},
		{"unschedulable", ReasonUnschedulable, "0/3 nodes", pod(corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available"}}}), nil},
		{"pull backoff", ReasonImageMissing, "ImagePullBackOff", pod(waiting("ImagePullBackOff")), []corev1.Event{{Reason: "Failed", Message: "Failed to pull image: not found"}}},
		{"err image pull", ReasonImageMissing, "ErrImagePull", pod(waiting("ErrImagePull")), nil},
		{"failed", ReasonFailed, "exited 2", pod(corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "ksdoctor", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}}), nil},
		{"deadline", ReasonFailed, "DeadlineExceeded", pod(corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded", Message: "Pod was active on the node longer than the specified deadline"}), nil},
		{"running", ReasonTimedOut, "still running", pod(corev1.PodStatus{Phase: corev1.PodRunning}), nil},
		{"creating", ReasonTimedOut, "ContainerCreating", pod(waiting("ContainerCreating")), nil},
		// A real kubelet 1.36: the pull failed, the status still says ContainerCreating.
		{"pull failed, status behind", ReasonImageMissing, `Back-off pulling image "ksdoctor:absent"`, pod(waiting("ContainerCreating")), []corev1.Event{
			{Reason: "Failed", Message: `Failed to pull image "ksdoctor:absent": not found`}, {Reason: "Failed", Message: "Error: ErrImagePull"},
			{Reason: "BackOff", Message: `Back-off pulling image "ksdoctor:absent"`}}},
		// A real kubelet 1.36 under load: the Job's deadline ended the pod
		// while it was still in pull back-off; the container is reported
		// terminated (137, ContainerStatusUnknown) without ever starting.
		{"pull failed, pod ended", ReasonImageMissing, "ended before its container started", pod(corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "ksdoctor", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown", Message: "The container could not be located when the pod was terminated"}}}}}), []corev1.Event{
			{Reason: "Failed", Message: `Failed to pull image "ksdoctor:absent": not found`}, {Reason: "BackOff", Message: `Back-off pulling image "ksdoctor:absent"`}}},
	} {
		reason, detail := classify(tc.pod, node, tc.events, 5*time.Second)
		if reason != tc.reason || !strings.Contains(detail, tc.detail) {
			t.Errorf("%s: %q %q, want %q containing %q", tc.name, reason, detail, tc.reason, tc.detail)
		}
		if len(tc.events) > 0 && !strings.Contains(detail, "not found") {
			t.Errorf("%s: events not in the detail: %s", tc.name, detail)
		}
	}
}

// TestReportedFindings: a sweep that exits 1, 2 or 5 printed its report
// (findings, or a check that could not judge); 3 and signals did not.
func TestReportedFindings(t *testing.T) {
	exited := func(code int32) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}}}
	}
	for code, want := range map[int32]bool{1: true, 2: true, 5: true, 3: false, 137: false, 4: false} {
		if got := reportedFindings(exited(code)); got != want {
			t.Errorf("exit %d: %v, want %v", code, got, want)
		}
	}
	if reportedFindings(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}}) {
		t.Error("a pod with no terminated container reported findings")
	}
}

func TestExtractJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`: `{"a":1}`,
		"ksdoctor: note: x\n{\"a\":1}\nksdoctor: y\n": `{"a":1}`,
		"panic: x\n{not json\n":                       "",
		"":                                            "",
	} {
		got, ok := extractJSON([]byte(in))
		if string(got) != want || ok != (want != "") {
			t.Errorf("extractJSON(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}
