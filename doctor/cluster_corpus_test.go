package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// corpusManifests decodes a real-world case's cluster/*.yaml, in file
// order (the order the replay reads them in).
func corpusManifests(t *testing.T, name string) kube.Manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("../testdata/realworld", name, "cluster", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("case %s: no cluster/*.yaml (%v)", name, err)
	}
	return kube.ReadManifests(t, files)
}

// verdicts are a check's finding IDs with severities, restricted to the
// subjects (hosts) of one case; "" keeps every finding of the check.
func verdicts(rep *diag.Report, check string, subjects []string) map[string]diag.Severity {
	out := map[string]diag.Severity{}
	for _, f := range rep.Findings {
		if f.Check != check {
			continue
		}
		keep := len(subjects) == 0
		for _, s := range subjects {
			if f.ID == check+"/"+s || f.ID == check+"/"+s+"/unknown" {
				keep = true
			}
		}
		if keep {
			out[f.ID] = f.Severity
		}
	}
	return out
}

func verdictString(v map[string]diag.Severity) string {
	var parts []string
	for id, s := range v {
		parts = append(parts, id+" "+string(s))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// TestClusterCorpusOnAPIServer: the objects of real-world corpus cases are
// created on a real kube-apiserver and swept; the verdict equals the
// corpus's replay of the same objects (the gatherer's reducers without an
// API server), its expected.json, and the replay of the recorded snapshot.
// The rendered report keeps the check's own words (redaction must not eat
// verdicts).
func TestClusterCorpusOnAPIServer(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	cases := []struct {
		name, check string
		hosts       []string // the case's subjects; nil for a per-cluster check
		words       []string // phrases the rendered report must keep
	}{
		{"cluster-ingress-nginx-1.3-seed-two-hosts", "k8s.ingress-tls", []string{"foo.bar.com", "bar.baz.com"},
			[]string{"secret default/foobar: certificate (names foo.bar.com) does not cover bar.baz.com", "fake certificate"}},
		{"cluster-ingress-nginx-1.11-default-ssl-certificate", "k8s.ingress-tls", []string{"foo.bar.com", "www.example.org"},
			[]string{"default certificate ingress-nginx/wildcard-bar-tls", "secret default/www-tls does not exist"}},
		{"cluster-ingress-nginx-0.35-annotation-class", "k8s.ingress-tls", []string{"foo.bar.com", "bar.baz.com", "whoami.example.com"}, nil},
		{"cluster-kubesphere-3.1-project-gateway", "k8s.ingress-tls", []string{"demo.kubesphere.local", "shop.example.com"},
			[]string{"watches only namespace demo"}},
		{"cluster-kubesphere-3.3-cluster-gateway", "k8s.ingress-tls", []string{"shop.example.com", "api.example.com", "blog.example.com"},
			[]string{"KubeSphere cluster gateway", "spec.ingressClassName nginx names no IngressClass"}},
		{"cluster-traefik-quickstart", "k8s.ingress-tls", []string{"whoami.example.com"}, []string{"traefik"}},
		{"cluster-kubespray-ingress-nginx-daemonset", "k8s.ingress-tls", []string{"whoami.example.com", "legacy.example.com"},
			[]string{"DaemonSet ingress-nginx/ingress-nginx-controller", "expired certificate"}},
		{"cluster-ks-devops-3.1-casc-stale", "devops.jenkins-casc-stale", nil, []string{"ks-jenkins", "before 3.2"}},
		{"cluster-ks-devops-3.3-reload-pending", "devops.jenkins-casc-stale", nil, []string{"reload pending"}},
		{"cluster-ks-devops-3.3-controller-down", "devops.jenkins-casc-stale", nil, []string{"no available replica"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m := corpusManifests(t, tc.name)
			// Leftovers of other tests under the same names go first.
			if err := kube.DeleteObjects(ctx, cs, corpusManifests(t, tc.name).Objects); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := kube.DeleteObjects(context.Background(), cs, corpusManifests(t, tc.name).Objects); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
			if err := kube.CreateObjects(ctx, cs, m.Objects); err != nil {
				t.Fatal(err)
			}
			chk, err := diag.Select(checks.All(), []string{tc.check}, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := newClusterDoctor(t, c, kube.Admin)
			d.Checks = chk
			snap, live := d.Sweep(ctx, doctor.Progress{})
			if err := snap.SourceError(diag.SourceCluster); err != nil {
				t.Fatalf("cluster source: %v", err)
			}
			got := verdicts(live, tc.check, tc.hosts)

			// The corpus replay of the same objects, at the sweep's time.
			facts, err := gather.ClusterFromObjects(corpusManifests(t, tc.name).Objects, m.InstallerVersion)
			if err != nil {
				t.Fatal(err)
			}
			rsnap := *snap
			rsnap.Cluster = facts
			if facts.Jenkins != nil {
				// The API server stamps the ConfigMap's change time.
				facts.Jenkins.ConfigChangedAt = snap.Cluster.Jenkins.ConfigChangedAt
			}
			replay := diag.Run(chk, &rsnap, diag.DefaultConfig(), diag.RunOptions{})
			if want := verdicts(replay, tc.check, tc.hosts); verdictString(got) != verdictString(want) {
				t.Errorf("live %s\nreplay of the corpus objects %s", verdictString(got), verdictString(want))
			}
			var exp struct {
				Findings map[string]diag.Severity `json:"findings"`
			}
			data, err := os.ReadFile(filepath.Join("../testdata/realworld", tc.name, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &exp); err != nil {
				t.Fatal(err)
			}
			for id, sev := range exp.Findings {
				if got[id] != sev {
					t.Errorf("%s: live %q, corpus expects %q", id, got[id], sev)
				}
			}

			// The recorded snapshot replays to the same verdict.
			var b bytes.Buffer
			if err := json.NewEncoder(&b).Encode(snap); err != nil {
				t.Fatal(err)
			}
			recorded, err := diag.ReadSnapshot(&b)
			if err != nil {
				t.Fatal(err)
			}
			if again := verdicts(d.Replay(recorded, doctor.Progress{}), tc.check, tc.hosts); verdictString(again) != verdictString(got) {
				t.Errorf("recorded snapshot replays to %s, live %s", verdictString(again), verdictString(got))
			}

			// The rendered report keeps the check's words.
			for _, format := range []report.Format{report.FormatText, report.FormatMarkdown} {
				var out bytes.Buffer
				if err := report.Write(&out, live, format, report.Options{}); err != nil {
					t.Fatal(err)
				}
				for _, w := range tc.words {
					if !strings.Contains(out.String(), w) {
						t.Errorf("%s report lacks %q:\n%s", format, w, out.String())
					}
				}
			}
		})
	}
}

// BenchmarkClusterIngressGather: the ingress part of a cluster sweep on a
// real kube-apiserver holding 2,000 Deployments (20 of them ingress-nginx
// controllers, one per namespace with --watch-namespace) and 1,000 TLS
// Ingresses: one paginated List per kind, no per-namespace loop.
func BenchmarkClusterIngressGather(b *testing.B) {
	c := realCluster(b)
	cs := c.Clientset(b, kube.Admin)
	ctx := context.Background()
	const nsCount, depsPerNS, ingsPerNS = 20, 100, 50
	for n := range nsCount {
		ns := fmt.Sprintf("ksdt-bench-ing-%02d", n)
		if err := kube.EnsureNamespace(ctx, cs, ns); err != nil {
			b.Fatal(err)
		}
		list, _ := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if len(list.Items) > 0 {
			continue // made by an earlier run
		}
		var wg sync.WaitGroup
		errs := make(chan error, depsPerNS+ingsPerNS)
		for i := range depsPerNS {
			wg.Go(func() {
				image, args := "registry.k8s.io/pause:3.10", []string(nil)
				if i == 0 {
					image, args = "registry.k8s.io/ingress-nginx/controller:v1.11.3", []string{"/nginx-ingress-controller", "--watch-namespace=" + ns, "--watch-ingress-without-class=true"}
				}
				labels := map[string]string{"app": fmt.Sprintf("app-%d", i)}
				_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d", i)},
					Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image, Args: args}}},
					}},
				}, metav1.CreateOptions{})
				errs <- err
			})
		}
		for i := range ingsPerNS {
			wg.Go(func() {
				host := fmt.Sprintf("h%d.%s.test", i, ns)
				_, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ing-%d", i)},
					Spec: networkingv1.IngressSpec{
						TLS:   []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "missing"}},
						Rules: []networkingv1.IngressRule{{Host: host}},
					},
				}, metav1.CreateOptions{})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	kc, err := gather.NewKubeClient(gather.Options{Kubeconfig: c.WriteKubeconfig(b, kube.Admin)})
	if err != nil {
		b.Fatal(err)
	}
	chk, _ := diag.Select(checks.All(), []string{"k8s.ingress-tls"}, nil)
	b.ResetTimer()
	for range b.N {
		f, err := gather.CollectCluster(ctx, kc, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(f.IngressControllers) < nsCount || len(f.Ingresses) < nsCount*ingsPerNS {
			b.Fatalf("gathered %d controllers, %d ingresses", len(f.IngressControllers), len(f.Ingresses))
		}
		snap := &diag.Snapshot{SchemaVersion: diag.SchemaVersion, StartedAt: time.Now(), Cluster: f,
			Sources: map[diag.Source]*diag.SourceStatus{diag.SourceCluster: {Source: diag.SourceCluster, OK: true}}}
		rep := diag.Run(chk, snap, diag.DefaultConfig(), diag.RunOptions{})
		b.ReportMetric(float64(len(rep.Findings)), "findings/op")
	}
}
