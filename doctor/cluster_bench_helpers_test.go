package doctor_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// sampleRSS samples the VmRSS of pid every 20 ms into *peak (bytes, the
// largest seen) until the returned stop is called.
func sampleRSS(pid int, peak *int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
						kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						*peak = max(*peak, kb<<10)
					}
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// procCPU is the user and system CPU time pid has used so far
// (/proc/PID/stat, in clock ticks of 10 ms); 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// apiRequests reads the apiserver's apiserver_request_total by verb and
// resource ("LIST pods").
func apiRequests(b *testing.B, cs kubernetes.Interface) map[string]float64 {
	b.Helper()
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("apiserver metrics: %v", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		rest, ok := strings.CutPrefix(l, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		var verb, res string
		for _, kv := range strings.Split(labels, ",") {
			k, q, _ := strings.Cut(kv, "=")
			q = strings.Trim(q, `"`)
			switch k {
			case "verb":
				verb = q
			case "resource":
				res = q
			}
		}
		out[verb+" "+res] += v
	}
	return out
}

// countRequests runs fn and keeps in *into the apiserver requests made
// meanwhile (the last run's), by verb and resource.
func countRequests(b *testing.B, cs kubernetes.Interface, into *map[string]float64, fn func() testbed.Run) testbed.Run {
	b.Helper()
	before := apiRequests(b, cs)
	r := fn()
	after := apiRequests(b, cs)
	d := map[string]float64{}
	for k, v := range after {
		if n := v - before[k]; n > 0 {
			d[k] = n
		}
	}
	*into = d
	return r
}

// describeRequests words a request count: the total and its largest parts.
func describeRequests(m map[string]float64) string {
	type kv struct {
		k string
		v float64
	}
	var all []kv
	total := 0.0
	for k, v := range m {
		all = append(all, kv{k, v})
		total += v
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var parts []string
	for i, e := range all {
		if i == 4 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%.0f %s", e.v, e.k))
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}

// createIngresses creates size.ingresses Ingresses spread over the
// namespaces, each with a TLS section naming its own secret, and the
// secrets (one certificate for *.ksdt.test, valid a year).
func createIngresses(ctx context.Context, cs kubernetes.Interface, size clusterSize) error {
	crt, key, err := benchCert()
	if err != nil {
		return err
	}
	sem := make(chan struct{}, 32)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range size.ingresses {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ns, name := benchNS(i%size.namespaces), fmt.Sprintf("web-%04d", i)
			host := name + ".ksdt.test"
			_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-tls"}, Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
			}, metav1.CreateOptions{})
			if err == nil {
				_, err = cs.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: networkingv1.IngressSpec{
						TLS:   []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: name + "-tls"}},
						Rules: []networkingv1.IngressRule{{Host: host}},
					},
				}, metav1.CreateOptions{})
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("ingress %s/%s: %w", ns, name, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func benchCert() (crt, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*.ksdt.test"}, DNSNames: []string{"*.ksdt.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), nil
}

func writeClusterSection(b *testing.B, results []clusterResult) {
	results = slices.Clone(results)
	sort.Slice(results, func(i, j int) bool { return results[i].size.pods < results[j].size.pods })
	var w strings.Builder
	fmt.Fprintf(&w, "## Big cluster: sweep and evicted-pod cleanup vs the seed's kubectl loops\n\n")
	fmt.Fprintf(&w, "Written by `make bench-cluster` (`BenchmarkCluster`, doctor/cluster_bench_test.go) on %s. Machine: %s, "+
		"shared with other jobs (load average with every figure).\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), testbed.BenchMachine())
	w.WriteString("A real kube-apiserver v1.36.3 with etcd 3.6.16 (built by testbed/etcd: Debian's 3.4 cannot serve consistent Lists from the watch cache, real clusters' etcd 3.5+ can) on 127.0.0.1 (testbed/kube), a fresh one per size, filled with " +
		"bulk client-go calls: pods bound to a node with one container and no status (Pending: no kubelet runs here; a status for each would double the setup), evicted pods (phase Failed, reason Evicted), pods in CrashLoopBackOff " +
		"(status set through the status subresource), Ingresses with TLS, each naming its own secret. " +
		"Pairs, the order flipping every pair: the ksdoctor binary's `sweep --checks " + clusterChecksArg + " --format json` " +
		"(default timeouts) against the seed's find loop `" + seedFindLoop + "`, and after them the seed loop's own question asked of ksdoctor, " +
		"`sweep --checks k8s.evicted-pods` (one List of the Failed pods, selected by the server); then `ksdoctor fix k8s.evicted-pods/delete --yes` " +
		"(sweep, preview, deletes with UID preconditions, re-check) against the seed's delete loop `" + seedDeleteLoop + "`, " +
		"each on its own set of evicted pods. kubectl: " + kubectlVersion() + ". API requests: the apiserver's own `apiserver_request_total`, " +
		"difference over the run. Goals at 50,000 pods: sweep peak RSS ≤ 200 MB, ≥ 100× faster than the find loop, delete ≥ 20× faster than the delete loop.\n\n")
	w.WriteString("| pods / namespaces / evicted / crash-looping / Ingresses | pairs | every cluster check (s) | seed find loop (s) | speed-up | `--checks k8s.evicted-pods` (s) | speed-up | fix delete (s) | seed delete loop (s) | speed-up | sweep peak RSS (MiB) | apiserver RSS during sweep / peak (MiB) | load average (first pair) |\n")
	w.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range results {
		s := r.size
		fmt.Fprintf(&w, "| %d / %d / %d / %d / %d | %d | %.2f | %.1f | **%.0f×** | %.2f | **%.0f×** | %.2f | %.1f | **%.0f×** | %.1f | %d / %d | %s |\n",
			s.pods, s.namespaces, s.evicted, s.crashing, s.ingresses, len(r.sweep),
			testbed.WallMedian(r.sweep), testbed.WallMedian(r.seedFind), testbed.WallMedian(r.seedFind)/testbed.WallMedian(r.sweep),
			testbed.WallMedian(r.evictedSweep), testbed.WallMedian(r.seedFind)/testbed.WallMedian(r.evictedSweep),
			testbed.WallMedian(r.del), testbed.WallMedian(r.seedDel), testbed.WallMedian(r.seedDel)/testbed.WallMedian(r.del),
			float64(testbed.MaxRSS(r.sweep))/1024, r.apiRSSSweep>>20, r.apiRSSPeak>>20, r.sweep[0].Load)
	}
	w.WriteString("\nThe cluster source of one sweep with the default timeouts (5 s per source, 30 s per sweep), run before the pairs " +
		"(the pairs run with `timeouts: {source: 120s, sweep: 300s}` so that they measure the whole work on a loaded machine):\n\n")
	for _, r := range results {
		fmt.Fprintf(&w, "- %d pods: %s (load %s)\n", r.size.pods, r.defaultTimeouts, r.sweep[0].Load)
	}
	w.WriteString("\nAPI requests of one run (apiserver_request_total difference, by verb and resource):\n\n")
	w.WriteString("| pods / namespaces | ksdoctor sweep, every cluster check | ksdoctor sweep, `k8s.evicted-pods` | seed find loop |\n|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&w, "| %d / %d | %s | %s | %s |\n", r.size.pods, r.size.namespaces, describeRequests(r.sweepReqs), describeRequests(r.evictedReqs), describeRequests(r.seedReqs))
	}
	writeClusterFloor(&w, results)
	last := results[len(results)-1]
	find := testbed.WallMedian(last.seedFind) / testbed.WallMedian(last.sweep)
	evicted := testbed.WallMedian(last.seedFind) / testbed.WallMedian(last.evictedSweep)
	del := testbed.WallMedian(last.seedDel) / testbed.WallMedian(last.del)
	rss := float64(testbed.MaxRSS(last.sweep)) / 1024
	fmt.Fprintf(&w, "\nAt the largest size run (%d pods): finding the evicted pods ≥ 100× the find loop: **%.0f×** (%s); every cluster check (all %d pods read, "+
		"for the crash-looping ones, and %d TLS secrets) against the same loop: **%.0f×** (%s); delete ≥ 20× the delete loop: **%.0f×** (%s); "+
		"sweep peak RSS ≤ 200 MB: **%.1f MiB** (%s). Setup took %s.\n", last.size.pods, evicted, testbed.MetOrNot(evicted >= 100), last.size.pods, last.size.ingresses,
		find, testbed.MetOrNot(find >= 100), del, testbed.MetOrNot(del >= 20),
		rss, testbed.MetOrNot(rss <= 200e6/(1<<20)), last.setup.Round(time.Second))
	if path, err := testbed.WriteBenchSection("cluster", w.String()); err != nil {
		b.Fatal(err)
	} else if path != "" {
		b.Logf("wrote the cluster section of %s", path)
	}
	b.Log("\n" + w.String())
}

// writeClusterFloor writes what bounds the sweep of every cluster check
// from below: the apiserver's own CPU time while it serves the sweep (the
// sweep cannot end before the server has done that work, with at most
// every core), and one kubectl for every namespace beside it.
func writeClusterFloor(w *strings.Builder, results []clusterResult) {
	cores := runtime.NumCPU()
	fmt.Fprintf(w, "\nWhat bounds the sweep of every cluster check: the apiserver's own CPU time while it serves that sweep (utime + stime from /proc, median over the pairs; "+
		"the sweep cannot end before the server has done that work (every pod listed, every TLS secret read), so on %d cores it cannot take less than that CPU time / %d, and the speed-up over the seed's loop cannot exceed the figure in the last column), "+
		"and the one command an engineer runs in place of the loop, `%s`, in the same pairs:\n\n", cores, cores, kubectlAllPods)
	w.WriteString("| pods | every cluster check (s) | `kubectl get pods -A` (s) | sweep / kubectl | apiserver CPU during the sweep (s) | speed-up bound: seed loop / (apiserver CPU / cores) |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		api, _, _ := testbed.Median(r.apiCPU)
		bound := "n/a"
		if api > 0 {
			bound = fmt.Sprintf("%.0f×", testbed.WallMedian(r.seedFind)/(api/float64(cores)))
		}
		fmt.Fprintf(w, "| %d | %.2f | %.2f | %.2f× | %.2f | %s |\n", r.size.pods, testbed.WallMedian(r.sweep), testbed.WallMedian(r.kubectlAll),
			testbed.WallMedian(r.sweep)/testbed.WallMedian(r.kubectlAll), api, bound)
	}
}

func kubectlVersion() string {
	out, err := execOutput("kubectl", "version", "--client")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

// sourceVerdict reads a sweep's JSON report and words how source did:
// "ok, 840 ms" or "failed after 5000 ms: timed out after 5s".
func sourceVerdict(b *testing.B, path string, source diag.Source) string {
	b.Helper()
	rep := testbed.ReadReport(b, path)
	for _, st := range rep.Sources {
		if st.Source == source {
			if st.OK {
				return fmt.Sprintf("ok, %d ms", st.DurationMs)
			}
			return fmt.Sprintf("failed after %d ms: %s", st.DurationMs, st.Error)
		}
	}
	return "not gathered"
}
