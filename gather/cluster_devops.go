package gather

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// KubeSphere DevOps names (Jenkins configuration-as-code as KubeSphere DevOps
// deploys it; kubesphere/ks-devops: the chart's devops-controller Deployment, its
// devops-config ConfigMap, the jenkinsconfig controller and
// --reload-casc-delay; kubesphere/ks-installer: the ks-installer
// ClusterConfiguration and Deployment in kubesphere-system).
const (
	JenkinsNamespace  = "kubesphere-devops-system"
	JenkinsConfigMap  = "jenkins-casc-config"
	JenkinsDeployment = "devops-jenkins"
	// JenkinsDeployment31 is the Jenkins Deployment of KubeSphere 3.1 and
	// earlier (ks-installer's helm release ks-jenkins).
	JenkinsDeployment31 = "ks-jenkins"
	DevOpsController    = "devops-controller"
	DevOpsConfigMap     = "devops-config"
	KubeSphereNamespace = "kubesphere-system"
)

// RestartedAtAnnotation is what `kubectl rollout restart` sets on the pod
// template.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// imageRe finds "image: NAME" in CasC YAML (Kubernetes cloud pod templates).
var imageRe = regexp.MustCompile(`(?m)^\s*(?:-\s*)?image:\s*["']?([^\s"'#]+)`)

// CascImages returns the distinct container images named in CasC data,
// sorted.
func CascImages(data map[string]string) []string {
	var out []string
	for _, v := range data {
		for _, m := range imageRe.FindAllStringSubmatch(v, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	sort.Strings(out)
	return out
}

// DevOpsObjects are the objects KubeSphere DevOps is judged from, as read
// from the API (or from a recorded cluster).
type DevOpsObjects struct {
	CascConfigMap *corev1.ConfigMap
	// DevOpsConfig is devops-config (only reloadCasCDelay is kept).
	DevOpsConfig *corev1.ConfigMap
	// Deployments are those of kubesphere-devops-system and
	// kubesphere-system.
	Deployments []appsv1.Deployment
	// Pods are candidates for devops-jenkins' pods (matched by its selector).
	Pods []corev1.Pod
	// InstallerVersion is the ks-installer ClusterConfiguration's "version"
	// label ("" when unread).
	InstallerVersion string
}

// JenkinsFacts reduces the DevOps objects; nil when KubeSphere DevOps is
// not installed.
func JenkinsFacts(o DevOpsObjects) (*diag.JenkinsFacts, error) {
	j := &diag.JenkinsFacts{Namespace: JenkinsNamespace}
	if cm := o.CascConfigMap; cm != nil {
		j.ConfigMapFound = true
		j.ConfigChangedAt = cm.CreationTimestamp.UTC()
		j.ConfigChangedBy = "created"
		for _, mf := range cm.ManagedFields {
			if mf.Time != nil && !mf.Time.UTC().Before(j.ConfigChangedAt) {
				j.ConfigChangedAt, j.ConfigChangedBy = mf.Time.UTC(), mf.Manager
			}
		}
		j.ConfigImages = CascImages(cm.Data)
	}
	dep := jenkinsDeployment(o.Deployments)
	if dep != nil {
		j.DeploymentFound = true
		j.Deployment = dep.Name
		j.RestartedAt = dep.Spec.Template.Annotations[RestartedAtAnnotation]
		j.CascSubPath = cascSubPath(&dep.Spec.Template.Spec)
		sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("deployment %s/%s selector: %w", dep.Namespace, dep.Name, err)
		}
		j.Pods = jenkinsPods(o.Pods, dep.Namespace, sel)
	}
	if !j.ConfigMapFound && !j.DeploymentFound {
		return nil, nil // KubeSphere DevOps is not installed
	}
	j.DevOps = devOpsFacts(o, dep)
	return j, nil
}

// jenkinsDeployment is devops-jenkins (3.2+), else ks-jenkins (3.1).
func jenkinsDeployment(ds []appsv1.Deployment) *appsv1.Deployment {
	if d := findDeployment(ds, JenkinsNamespace, func(d *appsv1.Deployment) bool { return d.Name == JenkinsDeployment }); d != nil {
		return d
	}
	return findDeployment(ds, JenkinsNamespace, func(d *appsv1.Deployment) bool { return d.Name == JenkinsDeployment31 })
}

func findDeployment(ds []appsv1.Deployment, ns string, match func(*appsv1.Deployment) bool) *appsv1.Deployment {
	for i := range ds {
		if ds[i].Namespace == ns && match(&ds[i]) {
			return &ds[i]
		}
	}
	return nil
}

func jenkinsPods(pods []corev1.Pod, ns string, sel labels.Selector) []diag.PodFacts {
	var out []diag.PodFacts
	for i := range pods {
		p := &pods[i]
		if p.Namespace != ns || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		out = append(out, podFacts(p))
	}
	sortPods(out)
	return out
}

// cascSubPath describes a subPath mount of jenkins-casc-config ("" none).
func cascSubPath(spec *corev1.PodSpec) string {
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == JenkinsConfigMap {
			vols[v.Name] = true
		}
	}
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if vols[m.Name] && (m.SubPath != "" || m.SubPathExpr != "") {
				return fmt.Sprintf("container %s mounts %s at %s with subPath %s", c.Name, JenkinsConfigMap, m.MountPath, m.SubPath+m.SubPathExpr)
			}
		}
	}
	return ""
}

// reloadDelayRe finds reloadCasCDelay in devops-config's kubesphere.yaml.
var reloadDelayRe = regexp.MustCompile(`(?m)^\s*reloadCasCDelay:\s*["']?([0-9a-zµ.]+)`)

func devOpsFacts(o DevOpsObjects, jenkins *appsv1.Deployment) *diag.DevOpsFacts {
	d := &diag.DevOpsFacts{}
	hint := func(from, image string) string {
		_, tag := SplitImage(image)
		v := ImageVersion(tag)
		d.Sources = append(d.Sources, from+" image "+image)
		return v
	}
	var candidates [][2]string // version, from
	ctrl := findDeployment(o.Deployments, JenkinsNamespace, func(dep *appsv1.Deployment) bool {
		return dep.Name == DevOpsController || dep.Labels["devops.kubesphere.io/component"] == "controller"
	})
	if ctrl != nil && len(ctrl.Spec.Template.Spec.Containers) > 0 {
		c := ctrl.Spec.Template.Spec.Containers[0]
		d.ControllerFound, d.Controller, d.ControllerImage = true, ctrl.Namespace+"/"+ctrl.Name, c.Image
		d.ControllerReplicas, d.ControllerAvailable = 1, ctrl.Status.AvailableReplicas
		if ctrl.Spec.Replicas != nil {
			d.ControllerReplicas = *ctrl.Spec.Replicas
		}
		controllerArgs(d, slices.Concat(c.Command, c.Args))
		candidates = append(candidates, [2]string{hint("devops-controller", c.Image), "devops-controller image " + c.Image})
	}
	if jenkins != nil && len(jenkins.Spec.Template.Spec.Containers) > 0 {
		img := jenkins.Spec.Template.Spec.Containers[0].Image
		v := hint(jenkins.Name, img)
		// ks-jenkins tags carry the KubeSphere version since 3.2
		// (v3.2.0-2.249.1); before, the bare Jenkins version (2.249.1).
		if strings.HasPrefix(v, "v2.") {
			d.Before32 = true
			v = ""
		}
		if jenkins.Name == JenkinsDeployment31 {
			d.Before32 = true
			d.Sources = append(d.Sources, "Jenkins Deployment named ks-jenkins (KubeSphere 3.1 and earlier; devops-jenkins since 3.2)")
		}
		candidates = append(candidates, [2]string{v, jenkins.Name + " image " + img})
	}
	for _, name := range []string{"ks-apiserver", "ks-installer"} {
		if dep := findDeployment(o.Deployments, KubeSphereNamespace, func(dep *appsv1.Deployment) bool { return dep.Name == name }); dep != nil && len(dep.Spec.Template.Spec.Containers) > 0 {
			img := dep.Spec.Template.Spec.Containers[0].Image
			candidates = append(candidates, [2]string{hint(name, img), name + " image " + img})
		}
	}
	if o.InstallerVersion != "" {
		d.Sources = append(d.Sources, "ClusterConfiguration ks-installer version label "+o.InstallerVersion)
		candidates = append(candidates, [2]string{ImageVersion(o.InstallerVersion), "ClusterConfiguration ks-installer version " + o.InstallerVersion})
	}
	for _, c := range candidates {
		if c[0] != "" {
			d.Version, d.VersionFrom = c[0], c[1]
			break
		}
	}
	if d.ReloadDelay == "" && o.DevOpsConfig != nil {
		for _, v := range o.DevOpsConfig.Data {
			if m := reloadDelayRe.FindStringSubmatch(v); m != nil {
				d.ReloadDelay, d.ReloadDelayFrom = m[1], "ConfigMap devops-config reloadCasCDelay"
			}
		}
	}
	return d
}

// controllerArgs reads --enabled-controllers (a key=bool map; "all=false"
// runs only the listed ones, as ks-devops' FeatureOptions.GetControllers)
// and --reload-casc-delay.
func controllerArgs(d *diag.DevOpsFacts, argv []string) {
	enabled := map[string]bool{}
	for i := 0; i < len(argv); i++ {
		name, val, ok := strings.Cut(strings.TrimLeft(argv[i], "-"), "=")
		if !strings.HasPrefix(argv[i], "-") {
			continue
		}
		if !ok && i+1 < len(argv) {
			i++
			val = argv[i]
		}
		switch name {
		case "enabled-controllers":
			for _, kv := range strings.Split(val, ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
				enabled[k] = v == "true"
			}
		case "reload-casc-delay":
			d.ReloadDelay, d.ReloadDelayFrom = val, "--reload-casc-delay"
		}
	}
	all, hasAll := enabled["all"]
	on, listed := enabled["jenkinsconfig"]
	switch {
	case listed && !on:
		d.ReloadDisabled = "--enabled-controllers jenkinsconfig=false"
	case hasAll && !all && !on:
		d.ReloadDisabled = "--enabled-controllers all=false without jenkinsconfig=true"
	}
}

func gatherJenkins(ctx context.Context, cs kubeapi.Interface, ext func(ctx context.Context, path string) ([]byte, error)) (*diag.JenkinsFacts, error) {
	var o DevOpsObjects
	cm, err := cs.CoreV1().ConfigMaps(JenkinsNamespace).Get(ctx, JenkinsConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("get configmap %s/%s: %w", JenkinsNamespace, JenkinsConfigMap, err)
	default:
		o.CascConfigMap = cm
	}
	// One List per namespace that matters (two namespaces, not a loop over
	// the cluster's namespaces). kubesphere-system only gives version hints:
	// when it cannot be read the version comes from the other sources.
	for _, ns := range []string{JenkinsNamespace, KubeSphereNamespace} {
		list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{Limit: clusterPageSize})
		switch {
		case err != nil && ns == JenkinsNamespace:
			return nil, fmt.Errorf("list deployments in %s: %w", ns, err)
		case err == nil:
			o.Deployments = append(o.Deployments, list.Items...)
		}
	}
	dep := jenkinsDeployment(o.Deployments)
	if o.CascConfigMap == nil && dep == nil {
		return nil, nil
	}
	if dep != nil {
		sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("deployment %s/%s selector: %w", dep.Namespace, dep.Name, err)
		}
		list, err := cs.CoreV1().Pods(dep.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("list pods of deployment %s/%s: %w", dep.Namespace, dep.Name, err)
		}
		o.Pods = list.Items
	}
	// Optional version and delay hints: unreadable ones are left out.
	if cm, err := cs.CoreV1().ConfigMaps(JenkinsNamespace).Get(ctx, DevOpsConfigMap, metav1.GetOptions{}); err == nil {
		o.DevOpsConfig = cm
	}
	if body, err := ext(ctx, "/apis/installer.kubesphere.io/v1alpha1/namespaces/kubesphere-system/clusterconfigurations/ks-installer"); err == nil {
		var cc struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if json.Unmarshal(body, &cc) == nil {
			o.InstallerVersion = cc.Metadata.Labels["version"]
		}
	}
	return JenkinsFacts(o)
}
