package fleet

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Labels every object of a sweep carries.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "ksdoctor"
	LabelSweep     = "ksdoctor.io/sweep"
	// AnnotationNode names the node a Job sweeps (a node name may be too
	// long for a label value).
	AnnotationNode = "ksdoctor.io/node"
	// ContainerName is the sweeping container's name in the pod.
	ContainerName = "ksdoctor"
	// HostMount is where the node's / is mounted in the pod.
	HostMount = "/host"
)

// ttlAfterFinished keeps a finished Job for the Job controller's own
// clean-up should ksdoctor die before deleting it.
const ttlAfterFinished = 600

// Selector is the label selector of every object of sweep id.
func Selector(id string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelSweep + "=" + id
}

// podArgs is the command line the pod runs: the node sweep, reading the
// node through its / mounted at /host and its Docker socket under it.
func podArgs() []string {
	return []string{"sweep", "--host-root", HostMount, "--format", "json",
		"--docker-host", "unix://" + HostMount + "/run/docker.sock"}
}

func ptr[T any](v T) *T { return &v }

// basePodSpec is the pod spec of a node's Job before the template and
// before pinning it to the node.
func basePodSpec(image string) corev1.PodSpec {
	hostPathDir := corev1.HostPathDirectory
	propagation := corev1.MountPropagationHostToContainer
	return corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		HostPID:                       true, // dockerd's pid and /proc of the node's processes
		HostNetwork:                   true, // the node's interfaces, routes and iptables
		DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
		AutomountServiceAccountToken:  ptr(false), // the node sweep needs no API access
		TerminationGracePeriodSeconds: ptr(int64(5)),
		Containers: []corev1.Container{{
			Name:            ContainerName,
			Image:           image,
			Args:            podArgs(),
			ImagePullPolicy: corev1.PullIfNotPresent,
			SecurityContext: &corev1.SecurityContext{
				Privileged:               ptr(false),
				AllowPrivilegeEscalation: ptr(false),
				ReadOnlyRootFilesystem:   ptr(true),
				RunAsUser:                ptr(int64(0)), // reads root-owned files under /host
				Capabilities: &corev1.Capabilities{
					Drop: []corev1.Capability{"ALL"},
					Add: []corev1.Capability{
						// NET_ADMIN: iptables-save reads the tables through
						// getsockopt(IPT_SO_GET_INFO/ENTRIES), which the kernel
						// allows only with CAP_NET_ADMIN in the node's netns.
						"NET_ADMIN",
						// NET_RAW: iptables opens a raw socket to reach those
						// getsockopts (socket(AF_INET, SOCK_RAW, IPPROTO_RAW)).
						"NET_RAW",
						// SYS_CHROOT: the image carries no iptables and no
						// dockerd; the sweep runs the node's own iptables-save
						// and dockerd --version chrooted into /host, so they
						// find the node's libraries and iptables backend.
						"SYS_CHROOT",
					},
				},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("500m"),
					corev1.ResourceMemory: resource.MustParse("256Mi"),
				},
			},
			VolumeMounts: []corev1.VolumeMount{{
				Name: "host", MountPath: HostMount, ReadOnly: true, MountPropagation: &propagation,
			}},
		}},
		Volumes: []corev1.Volume{{
			Name:         "host",
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &hostPathDir}},
		}},
	}
}

// Template is a validated --job-template: a Job whose pod spec is merged
// over ksdoctor's (containers, volumes and pull secrets by name, as a
// strategic merge would; see mergeSpec).
type Template struct {
	patch  []byte            // the template's pod spec, JSON
	labels map[string]string // the pod template's own labels
}

// LoadTemplate reads and validates a --job-template file, before anything
// is created: it must be a batch/v1 Job with only known fields, and merged
// over the default spec it must still run the ksdoctor container.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path) // the user's own file, not a host path
	if err != nil {
		return nil, fmt.Errorf("job template: %w", err)
	}
	return ParseTemplate(data)
}

// ParseTemplate validates a Job template given as YAML or JSON.
func ParseTemplate(data []byte) (*Template, error) {
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		return nil, fmt.Errorf("job template: %w", err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		return nil, fmt.Errorf("job template: want apiVersion batch/v1, kind Job; got %q, %q", job.APIVersion, job.Kind)
	}
	patch, err := json.Marshal(job.Spec.Template.Spec)
	if err != nil {
		return nil, fmt.Errorf("job template: %w", err)
	}
	t := &Template{patch: patch, labels: job.Spec.Template.Labels}
	spec, err := t.apply(basePodSpec("example"))
	if err != nil {
		return nil, err
	}
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("job template: %w", err)
	}
	return t, nil
}

func (t *Template) apply(spec corev1.PodSpec) (corev1.PodSpec, error) {
	if t == nil {
		return spec, nil
	}
	out, err := mergeSpec(spec, t.patch)
	if err != nil {
		return spec, fmt.Errorf("job template: %w", err)
	}
	return out, nil
}

// validateSpec checks what the sweep relies on in a merged spec.
func validateSpec(spec corev1.PodSpec) error {
	if spec.NodeName != "" {
		return fmt.Errorf("spec.nodeName is set by ksdoctor per node; leave it out")
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		return fmt.Errorf("restartPolicy must be Never (a node is swept once), not %q", spec.RestartPolicy)
	}
	for _, c := range spec.Containers {
		if c.Name != ContainerName {
			continue
		}
		if c.Image == "" {
			return fmt.Errorf("container %q has no image", ContainerName)
		}
		return nil
	}
	return fmt.Errorf("no container named %q: the sweep reads its log", ContainerName)
}

// JobSpec is what BuildJob needs besides the node.
type JobSpec struct {
	Namespace, SweepID, Image string
	Index                     int
	DeadlineSeconds           int64
	Template                  *Template
}

// BuildJob returns the Job that sweeps node: pinned to it, tolerating each
// of its taints, labelled with the sweep.
func BuildJob(s JobSpec, node *corev1.Node) (*batchv1.Job, error) {
	spec, err := s.Template.apply(basePodSpec(s.Image))
	if err != nil {
		return nil, err
	}
	spec.NodeName = node.Name
	for _, t := range node.Spec.Taints {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpExists, Effect: t.Effect})
	}
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelSweep: s.SweepID}
	podLabels := map[string]string{}
	if s.Template != nil {
		for k, v := range s.Template.labels {
			podLabels[k] = v
		}
	}
	for k, v := range labels {
		podLabels[k] = v
	}
	ann := map[string]string{AnnotationNode: node.Name}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(s.SweepID, s.Index),
			Namespace:   s.Namespace,
			Labels:      labels,
			Annotations: ann,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr(int32(0)),
			Parallelism:             ptr(int32(1)),
			Completions:             ptr(int32(1)),
			ActiveDeadlineSeconds:   ptr(s.DeadlineSeconds),
			TTLSecondsAfterFinished: ptr(int32(ttlAfterFinished)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: ann},
				Spec:       spec,
			},
		},
	}, nil
}

// JobName is the name of the index-th Job of a sweep.
func JobName(sweepID string, index int) string {
	return strings.ToLower(fmt.Sprintf("ksdoctor-%s-%d", sweepID, index))
}
