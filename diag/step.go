package diag

import (
	"fmt"
	"strings"
)

// Plan is the ordered list of steps an executor applies.
type Plan struct {
	Steps []Step `json:"steps"`
	// Transactional plans stop at the first failed step and undo the steps
	// already done; others apply every step independently.
	Transactional bool `json:"transactional,omitempty"`
}

// StepKind names an action an executor knows how to apply.
type StepKind string

// Step kinds. Each kind uses one of the payload fields of Step.
const (
	// StepRemoveContainer removes one container, only if it is still not
	// running (Container).
	StepRemoveContainer StepKind = "docker.container.remove"
	// StepRemoveImage removes one image by ID, without force (Image).
	StepRemoveImage StepKind = "docker.image.remove"
	// StepPruneBuildCache prunes unused build cache.
	StepPruneBuildCache StepKind = "docker.buildcache.prune"
	// StepIPTablesRule adds one iptables rule unless it exists (IPTablesRule).
	StepIPTablesRule StepKind = "net.iptables.rule"
	// StepSysctlSet writes a value under /proc/sys now (Sysctl).
	StepSysctlSet StepKind = "net.sysctl.set"
	// StepSysctlPersist writes a sysctl.d file so the value survives a reboot (Sysctl).
	StepSysctlPersist StepKind = "net.sysctl.persist"

	// StepFileEdit replaces a file's content (File), refusing when the file changed since
	// the preview; a timestamped backup is kept beside it and the undo restores it.
	StepFileEdit StepKind = "file.edit"
	// StepServiceDaemonReload makes the service manager reread unit files.
	StepServiceDaemonReload StepKind = "service.daemon-reload"
	// StepServiceRestart restarts a service (Service).
	StepServiceRestart StepKind = "service.restart"
	// StepServiceStop and StepServiceStart stop and start a service (Service); the undo
	// of each does the opposite.
	StepServiceStop  StepKind = "service.stop"
	StepServiceStart StepKind = "service.start"
	// StepServiceRestartOnRollback does nothing when applied; when the plan rolls back, its
	// undo (run after the files are restored) reloads units and restarts the service.
	StepServiceRestartOnRollback StepKind = "service.restart-on-rollback"
	// StepServiceResetFailed clears a service's failed state and start-limit counter
	// (systemctl reset-failed), planned when the unit has used up its start limit.
	StepServiceResetFailed StepKind = "service.reset-failed"
	// StepDockerConfigValidate resolves dockerd's configuration as it now is on disk and
	// fails when dockerd would refuse to start with it.
	StepDockerConfigValidate StepKind = "docker.config.validate"
	// StepDockerWaitReady waits until the Docker API answers again.
	StepDockerWaitReady StepKind = "docker.wait-ready"
	// StepDataRootMigrate copies Docker's data-root to a new place and points dockerd at
	// it (Migration); the undo puts everything back.
	StepDataRootMigrate StepKind = "docker.data-root.migrate"
	// StepDeletePod deletes one pod with a UID precondition (Pod).
	StepDeletePod StepKind = "k8s.pod.delete"
	// StepRestartWorkload rolls a Deployment's pods as `kubectl rollout
	// restart` does (Workload).
	StepRestartWorkload StepKind = "k8s.workload.restart"
)

// Step is one action of a plan. Exactly one payload field matches Kind.
type Step struct {
	Kind StepKind `json:"kind"`
	// Description is the one-line human form of the step.
	Description string `json:"description"`

	Container *ContainerTarget `json:"container,omitempty"`
	Image     *ImageTarget     `json:"image,omitempty"`

	IPTablesRule *IPTablesRule   `json:"iptablesRule,omitempty"`
	Sysctl       *SysctlChange   `json:"sysctl,omitempty"`
	File         *FileEdit       `json:"file,omitempty"`
	Service      *ServiceTarget  `json:"service,omitempty"`
	Migration    *DataRootMove   `json:"migration,omitempty"`
	Pod          *PodTarget      `json:"pod,omitempty"`
	Workload     *WorkloadTarget `json:"workload,omitempty"`
}

// ContainerTarget names a container a step acts on. Removal never forces:
// a container that is running again is left alone.
type ContainerTarget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ImageTarget names an image a step acts on.
type ImageTarget struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// IPTablesRule is one rule a step adds: "iptables -t Table -A Chain Rule…"
// (or -I Chain Position when Position > 0).
type IPTablesRule struct {
	Table    string   `json:"table"`
	Chain    string   `json:"chain"`
	Rule     []string `json:"rule"`
	Position int      `json:"position,omitempty"`
}

// SysctlChange sets one kernel parameter: now (under /proc/sys) or
// persistently (in File, a sysctl.d file on the node).
type SysctlChange struct {
	Key   string `json:"key"` // e.g. "net.ipv4.ip_forward"
	Value string `json:"value"`
	File  string `json:"file,omitempty"`
}

// ProcPath is the /proc/sys path of the parameter.
func (c SysctlChange) ProcPath() string {
	return "/proc/sys/" + strings.ReplaceAll(c.Key, ".", "/")
}

// FileEdit is a whole-file replacement planned from a snapshot.
type FileEdit struct {
	// Path is the path on the node (the executor prefixes the host root).
	Path string `json:"path"`
	// BeforeSHA256 is the content the plan was made from; "" means the file must not
	// exist yet.
	BeforeSHA256 string `json:"beforeSha256"`
	// Content is the new content.
	Content string `json:"content"`
	// Mode is used when the file is created (0644 when zero).
	Mode uint32 `json:"mode,omitempty"`
	// Diff is the unified diff shown in the preview.
	Diff string `json:"diff,omitempty"`
}

// ServiceTarget names a service a step acts on.
type ServiceTarget struct {
	Unit string `json:"unit"`
}

// DataRootMove moves Docker's data-root to a new directory.
type DataRootMove struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Bytes and Files are what the plan measured in From.
	Bytes int64 `json:"bytes"`
	Files int64 `json:"files"`
	// Symlink leaves From as a symlink to To instead of changing data-root.
	Symlink bool `json:"symlink,omitempty"`
	// Edit changes data-root where the configuration lives (nil with Symlink).
	Edit *FileEdit `json:"edit,omitempty"`
	// Backup is the name the old directory is moved to.
	Backup string `json:"backup"`
}

// PodTarget names a pod a step acts on. UID is a precondition: a pod
// recreated under the same name has another UID and is left alone.
type PodTarget struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// WorkloadTarget names a workload to restart and the restartedAt value to
// stamp on its pod template (fixed when the plan is made, so applying the
// plan twice restarts once).
type WorkloadTarget struct {
	Kind        string `json:"kind"` // "Deployment"
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	RestartedAt string `json:"restartedAt"`
}

// payloadOf names, for each step kind, the payload field it carries ("" for
// none). Service steps may leave Service nil: they then act on docker.service.
var payloadOf = map[StepKind]string{
	StepRemoveContainer:          "container",
	StepRemoveImage:              "image",
	StepPruneBuildCache:          "",
	StepIPTablesRule:             "iptablesRule",
	StepSysctlSet:                "sysctl",
	StepSysctlPersist:            "sysctl",
	StepFileEdit:                 "file",
	StepServiceDaemonReload:      "",
	StepServiceRestart:           "service",
	StepServiceStop:              "service",
	StepServiceStart:             "service",
	StepServiceRestartOnRollback: "service",
	StepServiceResetFailed:       "service",
	StepDockerConfigValidate:     "",
	StepDockerWaitReady:          "",
	StepDataRootMigrate:          "migration",
	StepDeletePod:                "pod",
	StepRestartWorkload:          "workload",
}

// payloads names the payload fields s carries, by their JSON names.
func (s Step) payloads() []string {
	var out []string
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"container", s.Container != nil}, {"image", s.Image != nil}, {"iptablesRule", s.IPTablesRule != nil},
		{"sysctl", s.Sysctl != nil}, {"file", s.File != nil}, {"service", s.Service != nil},
		{"migration", s.Migration != nil}, {"pod", s.Pod != nil}, {"workload", s.Workload != nil},
	} {
		if p.set {
			out = append(out, p.name)
		}
	}
	return out
}

// Validate says whether s carries exactly the payload its kind uses: the
// one field named for the kind, nothing else (a service step may carry none
// and then acts on docker.service; kinds without payload carry none).
func (s Step) Validate() error {
	want, ok := payloadOf[s.Kind]
	if !ok {
		return fmt.Errorf("step %q: unknown kind", s.Kind)
	}
	got := s.payloads()
	switch {
	case len(got) == 0 && (want == "" || want == "service"):
		return nil
	case len(got) == 1 && got[0] == want:
		return nil
	case want == "":
		return fmt.Errorf("step %s carries %s but takes no payload", s.Kind, strings.Join(got, ", "))
	}
	return fmt.Errorf("step %s carries [%s], want exactly %s", s.Kind, strings.Join(got, ", "), want)
}

// Validate checks every step of the plan.
func (p Plan) Validate() error {
	for i, s := range p.Steps {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}
