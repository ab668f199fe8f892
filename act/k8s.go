package act

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ksdoctor/ksdoctor/diag"
)

var errNoKube = errors.New("no Kubernetes cluster is configured (pass --kubeconfig or set KUBECONFIG)")

// restartedAtAnnotation is what `kubectl rollout restart` stamps on the pod
// template.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// deletePod deletes one pod only while it still has the previewed UID: the
// API server refuses the delete (409 Conflict) for a pod recreated under
// the same name, which is then left alone.
func deletePod(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	t := st.Pod
	if t == nil {
		return effect{}, fmt.Errorf("step has no pod")
	}
	if e.Kube == nil {
		return effect{}, errNoKube
	}
	if t.UID == "" {
		return effect{}, fmt.Errorf("pod %s/%s: plan has no UID precondition: refusing to delete by name alone", t.Namespace, t.Name)
	}
	uid := types.UID(t.UID)
	err := e.Kube.CoreV1().Pods(t.Namespace).Delete(ctx, t.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	switch {
	case err == nil:
		return done(fmt.Sprintf("deleted pod %s/%s", t.Namespace, t.Name), nil), nil
	case apierrors.IsNotFound(err):
		return noop("already gone"), nil
	case apierrors.IsConflict(err):
		return skipped(fmt.Sprintf("pod %s/%s now has another UID (recreated since the preview): left alone", t.Namespace, t.Name)), nil
	}
	return effect{}, kubeActionErr(err, "delete", "pods", t.Namespace, t.Namespace+"/"+t.Name)
}

// restartWorkload patches the pod template's restartedAt annotation to the
// value fixed in the plan, as `kubectl rollout restart` does; a template
// already carrying that value is left alone (noop).
func restartWorkload(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	t := st.Workload
	if t == nil {
		return effect{}, fmt.Errorf("step has no workload")
	}
	if e.Kube == nil {
		return effect{}, errNoKube
	}
	if t.Kind != "Deployment" {
		return effect{}, fmt.Errorf("restart of %s %s/%s: only Deployments are supported", t.Kind, t.Namespace, t.Name)
	}
	if t.RestartedAt == "" {
		return effect{}, fmt.Errorf("restart of deployment %s/%s: plan has no restartedAt value", t.Namespace, t.Name)
	}
	deps := e.Kube.AppsV1().Deployments(t.Namespace)
	d, err := deps.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return effect{}, kubeActionErr(err, "get", "deployments", t.Namespace, t.Namespace+"/"+t.Name)
	}
	if d.Spec.Template.Annotations[restartedAtAnnotation] == t.RestartedAt {
		return noop("restart already requested at " + t.RestartedAt), nil
	}
	patch, err := json.Marshal(map[string]any{
		"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{restartedAtAnnotation: t.RestartedAt},
		}}},
	})
	if err != nil {
		return effect{}, fmt.Errorf("encode patch: %w", err)
	}
	if _, err := deps.Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "ksdoctor"}); err != nil {
		return effect{}, kubeActionErr(err, "patch", "deployments", t.Namespace, t.Namespace+"/"+t.Name)
	}
	return done(fmt.Sprintf("restart of deployment %s/%s requested (restartedAt %s)", t.Namespace, t.Name, t.RestartedAt), nil), nil
}

// kubeActionErr wraps an API error; a Forbidden one names the permission
// that is missing so the user can fix the RBAC binding.
func kubeActionErr(err error, verb, resource, ns, obj string) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s %s %s: missing permission: verb %q on resource %q in namespace %q (bind the ksdoctor-fixer ClusterRole, deploy/rbac/fixer.yaml): %w",
			verb, singular(resource), obj, verb, resource, ns, err)
	}
	return fmt.Errorf("%s %s %s: %w", verb, singular(resource), obj, err)
}

func singular(resource string) string {
	if n := len(resource); n > 1 && resource[n-1] == 's' {
		return resource[:n-1]
	}
	return resource
}
