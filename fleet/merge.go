package fleet

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// byName are the pod spec lists merged element by element on "name", as
// a strategic merge patch does (apimachinery's strategicpatch links
// kube-openapi and protobuf descriptors, which cost every start of the
// binary); every other list, and every scalar, of the template replaces
// ours, and objects merge key by key (RFC 7386).
var byName = map[string]bool{"containers": true, "initContainers": true, "volumes": true, "imagePullSecrets": true}

// mergeSpec returns base with the template's pod spec (JSON) merged over it.
func mergeSpec(base corev1.PodSpec, patch []byte) (corev1.PodSpec, error) {
	var out corev1.PodSpec
	orig, err := json.Marshal(base)
	if err != nil {
		return out, err
	}
	var a, b map[string]any
	if err := json.Unmarshal(orig, &a); err != nil {
		return out, err
	}
	if err := json.Unmarshal(patch, &b); err != nil {
		return out, fmt.Errorf("template pod spec: %w", err)
	}
	merged, err := json.Marshal(mergeObject(a, b))
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(merged, &out); err != nil {
		return out, fmt.Errorf("merged pod spec: %w", err)
	}
	return out, nil
}

func mergeObject(a, b map[string]any) map[string]any {
	for k, bv := range b {
		switch bt := bv.(type) {
		case map[string]any:
			if at, ok := a[k].(map[string]any); ok {
				a[k] = mergeObject(at, bt)
				continue
			}
		case []any:
			if at, ok := a[k].([]any); ok && byName[k] {
				a[k] = mergeNamed(at, bt)
				continue
			}
		}
		a[k] = bv
	}
	return a
}

func mergeNamed(a, b []any) []any {
	index := map[string]int{}
	for i, e := range a {
		if m, ok := e.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				index[n] = i
			}
		}
	}
	for _, e := range b {
		m, ok := e.(map[string]any)
		n, named := m["name"].(string)
		if i, found := index[n]; ok && named && found {
			a[i] = mergeObject(a[i].(map[string]any), m)
			continue
		}
		a = append(a, e)
	}
	return a
}
