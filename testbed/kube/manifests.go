package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// Manifests are Kubernetes objects decoded from YAML as `kubectl get -o
// yaml` or a deploy manifest prints them.
type Manifests struct {
	Objects []runtime.Object
	// InstallerVersion is the "version" label of a ks-installer
	// ClusterConfiguration (a custom resource, kept as that one fact).
	InstallerVersion string
}

// ReadManifests decodes the YAML files, in order, into one Manifests.
func ReadManifests(t testing.TB, files []string) Manifests {
	t.Helper()
	var m Manifests
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := DecodeManifests(data, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return m
}

// DecodeManifests decodes a multi-document YAML stream (List objects are
// flattened).
func DecodeManifests(data []byte, into *Manifests) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("decode manifest: %w", err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		if err := decodeOne(raw, into); err != nil {
			return err
		}
	}
}

func decodeOne(raw []byte, into *Manifests) error {
	var meta struct {
		Kind     string            `json:"kind"`
		Items    []json.RawMessage `json:"items"`
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("decode manifest: %w", err)
	}
	switch meta.Kind {
	case "List":
		for _, it := range meta.Items {
			if err := decodeOne(it, into); err != nil {
				return err
			}
		}
		return nil
	case "ClusterConfiguration":
		into.InstallerVersion = meta.Metadata.Labels["version"]
		return nil
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return fmt.Errorf("decode %s %s: %w", meta.Kind, meta.Metadata.Name, err)
	}
	into.Objects = append(into.Objects, obj)
	return nil
}

// CreateObjects creates the objects on the cluster (namespaces first, as
// needed), then writes the status of pods, Deployments and DaemonSets
// through their status subresources, as the controllers would. Server-set
// fields (creation time, managed fields, resource version) are dropped.
func CreateObjects(ctx context.Context, cs kubernetes.Interface, objs []runtime.Object) error {
	for _, o := range objs {
		m, err := metaOf(o)
		if err != nil {
			return err
		}
		if ns := m.GetNamespace(); ns != "" {
			if err := EnsureNamespace(ctx, cs, ns); err != nil {
				return err
			}
		}
		m.SetCreationTimestamp(metav1.Time{})
		m.SetManagedFields(nil)
		m.SetResourceVersion("")
		m.SetUID("")
		if err := createOne(ctx, cs, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %T %s/%s: %w", o, m.GetNamespace(), m.GetName(), err)
		}
	}
	return nil
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", o)
	}
	return m, nil
}

func createOne(ctx context.Context, cs kubernetes.Interface, o runtime.Object) error {
	opts := metav1.CreateOptions{}
	switch o := o.(type) {
	case *corev1.Namespace:
		return EnsureNamespace(ctx, cs, o.Name)
	case *corev1.Secret:
		_, err := cs.CoreV1().Secrets(o.Namespace).Create(ctx, o, opts)
		return err
	case *corev1.ConfigMap:
		_, err := cs.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, opts)
		return err
	case *networkingv1.Ingress:
		_, err := cs.NetworkingV1().Ingresses(o.Namespace).Create(ctx, o, opts)
		return err
	case *networkingv1.IngressClass:
		_, err := cs.NetworkingV1().IngressClasses().Create(ctx, o, opts)
		return err
	case *appsv1.Deployment:
		status := o.Status
		got, err := cs.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
		if err != nil {
			return err
		}
		got.Status = status
		_, err = cs.AppsV1().Deployments(o.Namespace).UpdateStatus(ctx, got, metav1.UpdateOptions{})
		return err
	case *appsv1.DaemonSet:
		status := o.Status
		got, err := cs.AppsV1().DaemonSets(o.Namespace).Create(ctx, o, opts)
		if err != nil {
			return err
		}
		got.Status = status
		_, err = cs.AppsV1().DaemonSets(o.Namespace).UpdateStatus(ctx, got, metav1.UpdateOptions{})
		return err
	case *corev1.Pod:
		status := o.Status
		o.Status = corev1.PodStatus{}
		got, err := cs.CoreV1().Pods(o.Namespace).Create(ctx, o, opts)
		if err != nil {
			return err
		}
		if status.Phase != "" {
			_, err = SetPodStatus(ctx, cs, got, status)
		}
		return err
	}
	return fmt.Errorf("CreateObjects: %T is not supported", o)
}

// DeleteObjects deletes the objects (pods at once), ignoring those
// already gone; namespaces are left (they stay Terminating here).
func DeleteObjects(ctx context.Context, cs kubernetes.Interface, objs []runtime.Object) error {
	zero := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	var errs []error
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Secret:
			err = cs.CoreV1().Secrets(o.Namespace).Delete(ctx, o.Name, opts)
		case *corev1.ConfigMap:
			err = cs.CoreV1().ConfigMaps(o.Namespace).Delete(ctx, o.Name, opts)
		case *networkingv1.Ingress:
			err = cs.NetworkingV1().Ingresses(o.Namespace).Delete(ctx, o.Name, opts)
		case *networkingv1.IngressClass:
			err = cs.NetworkingV1().IngressClasses().Delete(ctx, o.Name, opts)
		case *appsv1.Deployment:
			err = cs.AppsV1().Deployments(o.Namespace).Delete(ctx, o.Name, opts)
		case *appsv1.DaemonSet:
			err = cs.AppsV1().DaemonSets(o.Namespace).Delete(ctx, o.Name, opts)
		case *corev1.Pod:
			err = cs.CoreV1().Pods(o.Namespace).Delete(ctx, o.Name, opts)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
