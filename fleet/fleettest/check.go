// Package fleettest holds what the fleet sweep's tests share: the check of
// every field of a node's Job, and a clearly labelled stand-in for the Job
// controller and the kubelet, which the test apiserver (testbed/kube) does
// not run. Only tests import it.
package fleettest

import (
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ksdoctor/ksdoctor/fleet"
)

// CheckJob returns what is wrong with a node's Job ("" when nothing): the
// labels, the pinned node, a toleration per taint, hostPID/hostNetwork, /
// read-only at /host with HostToContainer, only NET_ADMIN, NET_RAW and SYS_CHROOT, not
// privileged, no service account token, requests and limits, the deadline,
// no retries, a TTL, and the node sweep's command line.
func CheckJob(job *batchv1.Job, sweepID, node string, taints []corev1.Taint, deadline int64) string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, labels := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		if labels[fleet.LabelManagedBy] != "ksdoctor" || labels[fleet.LabelSweep] != sweepID {
			bad("labels %v", labels)
		}
	}
	s := job.Spec
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		bad("backoffLimit %v, want 0", s.BackoffLimit)
	}
	if s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds != deadline {
		bad("activeDeadlineSeconds %v, want %d", s.ActiveDeadlineSeconds, deadline)
	}
	if s.TTLSecondsAfterFinished == nil || *s.TTLSecondsAfterFinished <= 0 {
		bad("ttlSecondsAfterFinished %v", s.TTLSecondsAfterFinished)
	}
	p := s.Template.Spec
	if p.NodeName != node {
		bad("nodeName %q, want %q", p.NodeName, node)
	}
	for _, t := range taints {
		if !slices.ContainsFunc(p.Tolerations, func(tol corev1.Toleration) bool {
			return tol.Key == t.Key && tol.Operator == corev1.TolerationOpExists && tol.Effect == t.Effect
		}) {
			bad("no toleration (Exists) for taint %s:%s in %v", t.Key, t.Effect, p.Tolerations)
		}
	}
	if !p.HostPID || !p.HostNetwork {
		bad("hostPID %v hostNetwork %v", p.HostPID, p.HostNetwork)
	}
	if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		bad("automountServiceAccountToken %v, want false", p.AutomountServiceAccountToken)
	}
	if p.RestartPolicy != corev1.RestartPolicyNever {
		bad("restartPolicy %s", p.RestartPolicy)
	}
	if len(p.Volumes) != 1 || p.Volumes[0].HostPath == nil || p.Volumes[0].HostPath.Path != "/" {
		bad("volumes %+v, want hostPath /", p.Volumes)
	}
	var c *corev1.Container
	for i := range p.Containers {
		if p.Containers[i].Name == fleet.ContainerName {
			c = &p.Containers[i]
		}
	}
	if c == nil {
		return strings.Join(append(errs, "no ksdoctor container"), "; ")
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/host" || !c.VolumeMounts[0].ReadOnly ||
		c.VolumeMounts[0].MountPropagation == nil || *c.VolumeMounts[0].MountPropagation != corev1.MountPropagationHostToContainer {
		bad("volumeMounts %+v", c.VolumeMounts)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil || sc.Capabilities == nil:
		bad("no securityContext capabilities")
	case sc.Privileged == nil || *sc.Privileged:
		bad("privileged %v", sc.Privileged)
	case !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_CHROOT"}) || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		bad("capabilities %+v, want drop ALL, add NET_ADMIN NET_RAW SYS_CHROOT", sc.Capabilities)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		bad("allowPrivilegeEscalation %v", sc.AllowPrivilegeEscalation)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			bad("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			bad("no %s limit", r)
		}
	}
	want := "sweep --host-root /host --format json --docker-host unix:///host/run/docker.sock"
	if got := strings.Join(append(slices.Clone(c.Command), c.Args...), " "); got != want {
		bad("command %q, want %q", got, want)
	}
	if c.Image == "" {
		bad("no image")
	}
	return strings.Join(errs, "; ")
}
