package gather

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// clusterPageSize is the limit of each page of a paginated List.
const clusterPageSize = 1000

// ErrNoKubeconfig says no cluster configuration was found at all: the
// cluster is absent from this sweep, so its checks are skipped (an explicit
// --kubeconfig that cannot be read is an error instead).
var ErrNoKubeconfig = diag.Absent("no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod")

// KubeClient is a Kubernetes client with where it points.
type KubeClient struct {
	Clientset kubeapi.Interface
	Config    *rest.Config
	// Context is the kubeconfig context in use ("" in-cluster).
	Context string
}

// NewKubeClient loads the cluster configuration with the standard rules:
// --kubeconfig (opts.Kubeconfig), else $KUBECONFIG, else ~/.kube/config,
// else the in-cluster service account; opts.KubeContext overrides the
// current context. The client speaks protobuf. It has no client-side rate
// limit: every bulk call ksdoctor makes (secret reads, pod deletes, fleet
// Jobs) is bounded in flight instead (32 at most), and the server's API
// Priority and Fairness queues or refuses (429, retried by the client)
// what it cannot take. The token bucket it had (200 a second, burst 300)
// made 2,000 TLS secret reads wait 8.5 s, past the source's 5 s deadline.
func NewKubeClient(opts Options) (*KubeClient, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		if _, err := os.Stat(opts.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", opts.Kubeconfig, err)
		}
		rules.ExplicitPath = opts.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.KubeContext, Timeout: opts.KubeRequestTimeout}
	overrides.Context.Cluster, overrides.Context.AuthInfo = opts.KubeCluster, opts.KubeUser
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, ErrNoKubeconfig
		}
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	ctxName := ""
	if raw, err := cc.RawConfig(); err == nil {
		ctxName = raw.CurrentContext
		if opts.KubeContext != "" {
			ctxName = opts.KubeContext
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS = -1 // no token bucket; see above
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ksdoctor"
	}
	cs, err := kubeapi.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return &KubeClient{Clientset: cs, Config: cfg, Context: ctxName}, nil
}

func gatherCluster(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	kc, err := NewKubeClient(g.opts)
	if err != nil {
		return nil, err
	}
	hostname := ""
	if s.Host != nil {
		hostname = s.Host.Hostname
	}
	facts, err := CollectCluster(ctx, kc, hostname, g.clusterAreas)
	if err != nil {
		// Record where it looked, so the report names the cluster.
		down := &diag.ClusterFacts{Server: kc.Config.Host, Context: kc.Context, Error: err.Error()}
		return func(s *diag.Snapshot) { s.Cluster = down }, err
	}
	return func(s *diag.Snapshot) { s.Cluster = facts }, nil
}

// CollectCluster reads the parts of the cluster (diag.ClusterArea*; nil:
// all) the checks need. An unreachable API server is an error; a kind of
// object the identity may not read is recorded in ClusterFacts.Partial and
// the rest is still gathered.
func CollectCluster(ctx context.Context, kc *KubeClient, hostname string, areas []string) (*diag.ClusterFacts, error) {
	cs := kc.Clientset
	f := &diag.ClusterFacts{Server: kc.Config.Host, Context: kc.Context, Reachable: true, Partial: map[string]string{}, Areas: areas}
	var v version.Info
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("cluster %s is not reachable: %w", kc.Config.Host, err)
	}
	if err := json.Unmarshal(body, &v); err == nil {
		f.ServerVersion = v.GitVersion
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	failed, crashing := f.Holds(diag.ClusterAreaFailedPods), f.Holds(diag.ClusterAreaCrashLoopPods)
	if failed || crashing {
		wg.Go(func() { collectPods(ctx, cs, f, &mu, failed, crashing) })
	}
	if f.Holds(diag.ClusterAreaNodes) {
		wg.Go(func() {
			nodes, err := listNodes(ctx, cs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.Partial[diag.ClusterAreaNodes] = describeKubeErr(fmt.Errorf("list nodes: %w", err))
				return
			}
			f.Nodes = nodes
			f.NodeName = matchNode(nodes, hostname)
		})
	}
	if f.Holds(diag.ClusterAreaIngresses) {
		wg.Go(func() { collectIngresses(ctx, cs, f, &mu) })
	}
	if f.Holds(diag.ClusterAreaJenkins) {
		wg.Go(func() {
			j, err := gatherJenkins(ctx, cs, func(ctx context.Context, path string) ([]byte, error) {
				return cs.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).Raw()
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.Partial[diag.ClusterAreaJenkins] = describeKubeErr(err)
				return
			}
			f.Jenkins = j
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", kc.Config.Host, err)
	}
	if len(f.Partial) == 0 {
		f.Partial = nil
	}
	sortPods(f.FailedPods)
	sortPods(f.CrashLoopPods)
	if f.FailedPods == nil {
		f.FailedPods = []diag.PodFacts{}
	}
	if f.CrashLoopPods == nil {
		f.CrashLoopPods = []diag.PodFacts{}
	}
	return f, nil
}

// collectPods lists the pods the pod checks read into f: the Failed ones
// (evicted among them), the crash-looping ones, or both.
func collectPods(ctx context.Context, cs kubeapi.Interface, f *diag.ClusterFacts, mu *sync.Mutex, failed, crashing bool) {
	// One paginated List across all namespaces serves both pod checks:
	// the server-side field selector drops finished (Succeeded) pods;
	// Failed ones (evicted among them) and crash-looping ones are kept.
	// Two Lists (status.phase=Failed, then the rest) would make the
	// server read every pod twice. Failed pods alone (a fix of evicted
	// pods, its re-check) are selected by the server: of 50,000 pods only
	// the Failed ones cross the wire.
	selector := "status.phase!=Succeeded"
	if !crashing {
		selector = "status.phase=Failed"
	}
	var seen int
	pods, err := listPods(ctx, cs, selector, func(p *corev1.Pod) bool {
		seen++
		return failed && p.Status.Phase == corev1.PodFailed || crashing && p.Status.Phase != corev1.PodFailed && crashLooping(p)
	})
	mu.Lock()
	defer mu.Unlock()
	f.PodsSeen = seen
	if err != nil {
		f.Partial[diag.ClusterAreaPods] = describeKubeErr(fmt.Errorf("list pods: %w", err))
		return
	}
	for _, p := range pods {
		if p.Phase == string(corev1.PodFailed) {
			f.FailedPods = append(f.FailedPods, p)
		} else {
			f.CrashLoopPods = append(f.CrashLoopPods, p)
		}
	}
}

// collectIngresses lists ingresses, their TLS secrets and the ingress
// controllers into f.
func collectIngresses(ctx context.Context, cs kubeapi.Interface, f *diag.ClusterFacts, mu *sync.Mutex) {
	ings, secrets, err := listIngresses(ctx, cs)
	ctrls, classes, cerr := listIngressControllers(ctx, cs)
	if err == nil {
		// The controllers' --default-ssl-certificate secrets are read too.
		for _, c := range ctrls {
			if ns, name, ok := strings.Cut(c.DefaultSSLCertificate, "/"); ok && secrets[c.DefaultSSLCertificate] == nil {
				secrets[c.DefaultSSLCertificate] = &diag.TLSSecretFacts{Namespace: ns, Name: name}
			}
		}
		readTLSSecrets(ctx, cs, secrets)
	}
	mu.Lock()
	defer mu.Unlock()
	if cerr != nil {
		f.Partial[diag.ClusterAreaIngressControllers] = describeKubeErr(fmt.Errorf("list ingress controllers: %w", cerr))
	} else {
		f.IngressControllers, f.IngressClasses, f.IngressControllersGathered = ctrls, classes, true
	}
	if err != nil {
		f.Partial[diag.ClusterAreaIngresses] = describeKubeErr(fmt.Errorf("list ingresses: %w", err))
		return
	}
	f.Ingresses = ings
	f.TLSSecrets = secrets
	for _, sec := range secrets {
		if sec.Error != "" && strings.Contains(sec.Error, "forbidden") {
			f.Partial[diag.ClusterAreaSecrets] = sec.Error
			break
		}
	}
}

// describeKubeErr says why facts could not be read; the API server's
// Forbidden message already names the user, verb, resource and namespace,
// and the hint names the role that grants it.
func describeKubeErr(err error) string {
	if apierrors.IsForbidden(err) {
		return err.Error() + " (bind the ksdoctor-reader ClusterRole, deploy/rbac/reader.yaml)"
	}
	return err.Error()
}

// listPods lists pods across all namespaces, page by page, with the field
// selector, keeping those keep accepts (converted to PodFacts at once so
// a big cluster's full pod objects are not all held in memory).
func listPods(ctx context.Context, cs kubeapi.Interface, fieldSelector string, keep func(*corev1.Pod) bool) ([]diag.PodFacts, error) {
	var out []diag.PodFacts
	opts := metav1.ListOptions{FieldSelector: fieldSelector, Limit: clusterPageSize}
	for {
		list, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			if keep(&list.Items[i]) {
				out = append(out, podFacts(&list.Items[i]))
			}
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

func crashLooping(p *corev1.Pod) bool {
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

func podFacts(p *corev1.Pod) diag.PodFacts {
	pf := diag.PodFacts{
		Namespace: p.Namespace,
		Name:      p.Name,
		UID:       string(p.UID),
		Node:      p.Spec.NodeName,
		Phase:     string(p.Status.Phase),
		Reason:    p.Status.Reason,
		Message:   p.Status.Message,
		CreatedAt: p.CreationTimestamp.UTC(),
	}
	if p.Status.StartTime != nil {
		pf.StartedAt = p.Status.StartTime.UTC()
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		pf.Owner = ref.Kind + "/" + ref.Name
	}
	add := func(sts []corev1.ContainerStatus, init bool) {
		for _, c := range sts {
			cf := diag.ContainerStatus{Name: c.Name, Image: c.Image, Init: init, RestartCount: c.RestartCount}
			if c.State.Waiting != nil {
				cf.WaitingReason = c.State.Waiting.Reason
			}
			if t := c.LastTerminationState.Terminated; t != nil {
				cf.LastReason, cf.LastExitCode, cf.LastFinished = t.Reason, t.ExitCode, t.FinishedAt.UTC()
			}
			pf.Containers = append(pf.Containers, cf)
		}
	}
	add(p.Status.InitContainerStatuses, true)
	add(p.Status.ContainerStatuses, false)
	if len(pf.Containers) == 0 {
		for _, c := range p.Spec.Containers {
			pf.Containers = append(pf.Containers, diag.ContainerStatus{Name: c.Name, Image: c.Image})
		}
	}
	return pf
}

func sortPods(ps []diag.PodFacts) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Namespace != ps[j].Namespace {
			return ps[i].Namespace < ps[j].Namespace
		}
		return ps[i].Name < ps[j].Name
	})
}

func listNodes(ctx context.Context, cs kubeapi.Interface) ([]diag.NodeFacts, error) {
	out := []diag.NodeFacts{}
	opts := metav1.ListOptions{Limit: clusterPageSize}
	for {
		list, err := cs.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, n := range list.Items {
			nf := diag.NodeFacts{Name: n.Name, Unschedulable: n.Spec.Unschedulable}
			for _, c := range n.Status.Conditions {
				nf.Conditions = append(nf.Conditions, diag.NodeCondition{
					Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message,
					LastTransition: c.LastTransitionTime.UTC(),
				})
			}
			out = append(out, nf)
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// matchNode finds the node of the swept host: by name, then by the short
// hostname (nodes are often registered without the domain).
func matchNode(nodes []diag.NodeFacts, hostname string) string {
	if hostname == "" {
		return ""
	}
	short, _, _ := strings.Cut(hostname, ".")
	for _, want := range []string{hostname, strings.ToLower(hostname), short, strings.ToLower(short)} {
		for _, n := range nodes {
			if n.Name == want {
				return n.Name
			}
		}
	}
	return ""
}

func listIngresses(ctx context.Context, cs kubeapi.Interface) ([]diag.IngressFacts, map[string]*diag.TLSSecretFacts, error) {
	out := []diag.IngressFacts{}
	refs := map[string]*diag.TLSSecretFacts{}
	opts := metav1.ListOptions{Limit: clusterPageSize}
	for {
		list, err := cs.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		for i := range list.Items {
			ing := IngressFacts(&list.Items[i])
			for _, t := range ing.TLS {
				if t.SecretName == "" {
					continue
				}
				key := ing.Namespace + "/" + t.SecretName
				if refs[key] == nil {
					refs[key] = &diag.TLSSecretFacts{Namespace: ing.Namespace, Name: t.SecretName}
				}
			}
			out = append(out, ing)
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	return out, refs, nil
}

// secretReaders bounds the secret reads in flight.
const secretReaders = 32

// readTLSSecrets reads the referenced secrets (never a List of all
// secrets: get is the only verb the reader role holds on them), 32 at a
// time; their data is reduced to certificate facts.
func readTLSSecrets(ctx context.Context, cs kubeapi.Interface, refs map[string]*diag.TLSSecretFacts) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, secretReaders)
	for _, ref := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			readTLSSecret(ctx, cs, ref)
		})
	}
	wg.Wait()
}

// readTLSSecret fills ref from the secret. The secret's data is parsed and
// dropped: only public certificate facts are kept.
func readTLSSecret(ctx context.Context, cs kubeapi.Interface, ref *diag.TLSSecretFacts) {
	sec, err := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		ref.Found = true // unknown: do not claim it is missing
		ref.Error = describeKubeErr(err)
		return
	}
	*ref = *TLSSecretFacts(ref.Namespace, ref.Name, sec)
}

// ParseTLSSecretData parses tls.crt (and checks tls.key matches it) into
// ref. Neither input is kept or quoted in errors.
func ParseTLSSecretData(ref *diag.TLSSecretFacts, crt, key []byte) {
	if len(crt) == 0 {
		ref.Error = "tls.crt is empty or missing"
		return
	}
	rest := crt
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			ref.Error = fmt.Sprintf("tls.crt: certificate %d does not parse: %v", len(ref.Certs)+1, err)
			return
		}
		ref.Certs = append(ref.Certs, certFacts(c))
	}
	if len(ref.Certs) == 0 {
		ref.Error = "tls.crt holds no PEM certificate"
		return
	}
	if len(key) == 0 {
		ref.KeyError = "tls.key is empty or missing"
		return
	}
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		ref.KeyError = "tls.key does not match the certificate or does not parse: " + keyPairReason(err)
	}
}

// keyPairReason keeps crypto/tls's short reason (its messages never hold
// key material, but cap them anyway).
func keyPairReason(err error) string {
	s := strings.TrimPrefix(err.Error(), "tls: ")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func certFacts(c *x509.Certificate) diag.CertFacts {
	cf := diag.CertFacts{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		DNSNames:  slices.Clone(c.DNSNames),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		DER:       slices.Clone(c.Raw),
	}
	if c.SerialNumber != nil {
		cf.Serial = c.SerialNumber.Text(16)
	}
	for _, ip := range c.IPAddresses {
		cf.IPs = append(cf.IPs, ip.String())
	}
	return cf
}
