package doctor_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// clusterSize is one size of the cluster benchmark; the largest is the
// issue's: 50,000 pods in 500 namespaces, 2,000 evicted, 200 in
// CrashLoopBackOff, 2,000 Ingresses with TLS (each its own secret).
type clusterSize struct{ namespaces, pods, evicted, crashing, ingresses int }

func (s clusterSize) String() string {
	return fmt.Sprintf("pods=%d/namespaces=%d", s.pods, s.namespaces)
}

var clusterSizes = []clusterSize{
	{namespaces: 125, pods: 12500, evicted: 500, crashing: 50, ingresses: 500},
	{namespaces: 250, pods: 25000, evicted: 1000, crashing: 100, ingresses: 1000},
	{namespaces: 500, pods: 50000, evicted: 2000, crashing: 200, ingresses: 2000},
}

// seedFindLoop is the seed article's per-namespace loop, verbatim in shape.
const seedFindLoop = `for ns in $(kubectl get ns | grep -v NAME | awk '{print $1}'); do kubectl get pods -n $ns | grep Evicted; done`

// kubectlAllPods is the one command an engineer would run in place of the
// seed's loop: one paginated List of every pod (kubectl's default chunks
// of 500), printed as kubectl's table.
const kubectlAllPods = `kubectl get pods -A >/dev/null`

// seedDeleteLoop is the seed's cleanup: two kubectl calls per namespace,
// failing on namespaces with nothing to delete.
const seedDeleteLoop = `for ns in $(kubectl get ns | grep -v NAME | awk '{print $1}'); do kubectl get pods -n $ns | grep Evicted | awk '{print $1}' | xargs kubectl delete pod -n $ns; done`

// clusterChecksArg is every cluster check, for `ksdoctor sweep --checks`.
const clusterChecksArg = "k8s.node-conditions,k8s.evicted-pods,k8s.crashloop-pods,k8s.ingress-tls,devops.jenkins-casc-stale"

// removeBenchKubeconfig is called by TestMain (benchmarks now keep their
// files in their own TempDir).
func removeBenchKubeconfig() {}

// clusterResult is what one size measured.
type clusterResult struct {
	size                    clusterSize
	setup                   time.Duration
	sweep, seedFind         []testbed.Run
	kubectlAll              []testbed.Run // one kubectl for every namespace: what an engineer runs instead of the loop
	apiCPU                  []float64     // seconds: the apiserver's own CPU time during each sweep of every cluster check
	evictedSweep            []testbed.Run // sweep --checks k8s.evicted-pods: the seed loop's own question
	del, seedDel            []testbed.Run
	sweepReqs, seedReqs     map[string]float64
	evictedReqs             map[string]float64
	apiRSSSweep, apiRSSPeak int64 // bytes: largest VmRSS seen during the sweeps; VmHWM at the end
	podsSeen                int
	defaultTimeouts         string // the cluster source under the default timeouts
}

// BenchmarkCluster: on a real kube-apiserver (a fresh one per size), the
// ksdoctor binary's cluster sweep (every cluster check, default timeouts)
// against the seed's per-namespace kubectl loop that only finds the evicted
// pods, and `ksdoctor fix k8s.evicted-pods/delete --yes` (sweep, preview,
// deletes with UID preconditions, re-check) against the seed's delete loop,
// alternating, at three sizes. It counts the API requests of each side from
// the apiserver's own apiserver_request_total and samples the apiserver's
// resident memory while the sweep runs. Goals at the largest size: sweep
// peak RSS ≤ 200 MB, ≥ 100× faster than the seed's find loop, delete ≥ 20×
// faster than its delete loop. Run by `make bench-cluster`
// (KSDOCTOR_BENCH_CLUSTER=1).
func BenchmarkCluster(b *testing.B) {
	if os.Getenv("KSDOCTOR_BENCH_CLUSTER") != "1" {
		b.Skip("set KSDOCTOR_BENCH_CLUSTER=1 (make bench-cluster)")
	}
	kube.Require(b)
	if _, err := exec.LookPath("kubectl"); err != nil {
		b.Fatalf("the baseline needs kubectl: %v", err)
	}
	ksd := filepath.Join(b.TempDir(), "ksdoctor")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", ksd, "../cmd/ksdoctor").CombinedOutput(); err != nil {
		b.Fatalf("build ksdoctor: %v\n%s", err, out)
	}
	var results []clusterResult
	for _, size := range testbed.BenchSizes(clusterSizes) {
		b.Run(size.String(), func(b *testing.B) {
			results = append(results, benchClusterSize(b, ksd, size))
			// Written after every size: a run cut short keeps what it measured.
			writeClusterSection(b, results)
		})
	}
}

func benchClusterSize(b *testing.B, ksd string, size clusterSize) clusterResult {
	c := kube.Start(b)
	cs := c.Clientset(b, kube.Admin)
	ctx := context.Background()
	r := clusterResult{size: size}
	start := time.Now()
	if err := fillCluster(ctx, cs, size); err != nil {
		b.Fatalf("setup: %v", err)
	}
	r.setup = time.Since(start)
	b.Logf("%s: setup %s, load %s", size, r.setup.Round(time.Second), testbed.LoadAvg())
	kc := c.WriteKubeconfig(b, kube.Admin)
	dir := b.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KUBECONFIG=" + kc}
	report := filepath.Join(dir, "report.json")
	apiPID, _ := c.PIDs()
	// A sweep's exit codes: findings (1, 2), a check that could not judge (5).
	sweepOK := func(code int) bool { return code == 1 || code == 2 || code == 5 }
	// First one sweep with the default timeouts (5 s per source): whether
	// it fits is a figure of its own. The pairs then run with room enough
	// (a loaded machine can take longer), so they measure the whole work.
	def := exec.Command(ksd, "sweep", "--checks", clusterChecksArg, "--format", "json", "-o", report)
	def.Env = env
	if _, _, err := testbed.TimeCmd(def, sweepOK); err != nil {
		b.Fatal(err)
	}
	r.defaultTimeouts = sourceVerdict(b, report, diag.SourceCluster)
	cfg := filepath.Join(dir, "timeouts.yaml")
	if err := os.WriteFile(cfg, []byte("timeouts:\n  source: 120s\n  sweep: 300s\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	sweep := func() testbed.Run {
		cmd := exec.Command(ksd, "sweep", "--config", cfg, "--checks", clusterChecksArg, "--format", "json", "-o", report)
		cmd.Env = env
		stop := sampleRSS(apiPID, &r.apiRSSSweep)
		cpu0 := procCPU(apiPID)
		run, _, err := testbed.TimeCmd(cmd, sweepOK)
		r.apiCPU = append(r.apiCPU, (procCPU(apiPID) - cpu0).Seconds())
		stop()
		if err != nil {
			b.Fatal(err)
		}
		return run
	}
	// The seed's loop asks one question: which pods are evicted. ksdoctor
	// answers the same question with its one check: one List of the
	// Failed pods, selected by the server.
	evictedSweep := func() testbed.Run {
		cmd := exec.Command(ksd, "sweep", "--config", cfg, "--checks", "k8s.evicted-pods", "--format", "json", "-o", report)
		cmd.Env = env
		run, _, err := testbed.TimeCmd(cmd, sweepOK)
		if err != nil {
			b.Fatal(err)
		}
		return run
	}
	seed := func(script string) testbed.Run {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = env
		run, _, _ := testbed.TimeCmd(cmd, func(int) bool { return true }) // the loop fails on empty namespaces by design
		return run
	}
	pairs := testbed.BenchPairs(1)
	for b.Loop() {
		for i := range pairs {
			// Find: ours and the seed's loop, the order flipping every pair.
			if i%2 == 0 {
				r.sweep = append(r.sweep, countRequests(b, cs, &r.sweepReqs, sweep))
				r.seedFind = append(r.seedFind, countRequests(b, cs, &r.seedReqs, func() testbed.Run { return seed(seedFindLoop) }))
			} else {
				r.seedFind = append(r.seedFind, countRequests(b, cs, &r.seedReqs, func() testbed.Run { return seed(seedFindLoop) }))
				r.sweep = append(r.sweep, countRequests(b, cs, &r.sweepReqs, sweep))
			}
			r.podsSeen = checkClusterReport(b, report, size)
			r.kubectlAll = append(r.kubectlAll, seed(kubectlAllPods))
			r.evictedSweep = append(r.evictedSweep, countRequests(b, cs, &r.evictedReqs, evictedSweep))
			checkClusterReport(b, report, size)
			// Delete: each side on a fresh set of evicted pods.
			fix := exec.Command(ksd, "fix", "k8s.evicted-pods/delete", "--yes", "--config", cfg)
			fix.Env = env
			run, out, err := testbed.TimeCmd(fix, nil)
			if err != nil {
				b.Fatal(err)
			}
			if n := countFailed(b, cs); n != 0 {
				b.Fatalf("ksdoctor fix left %d evicted pods:\n%.2000s", n, out)
			}
			r.del = append(r.del, run)
			refillEvicted(b, cs, size, 2*i+1)
			r.seedDel = append(r.seedDel, seed(seedDeleteLoop))
			if n := countFailed(b, cs); n != 0 {
				b.Fatalf("the seed's delete loop left %d evicted pods", n)
			}
			refillEvicted(b, cs, size, 2*i+2)
		}
	}
	r.apiRSSPeak, _ = c.PeakRSS()
	b.ReportMetric(testbed.WallMedian(r.seedFind)/testbed.WallMedian(r.sweep), "find_speedup")
	b.ReportMetric(testbed.WallMedian(r.seedFind)/testbed.WallMedian(r.evictedSweep), "evicted_find_speedup")
	b.ReportMetric(testbed.WallMedian(r.seedDel)/testbed.WallMedian(r.del), "delete_speedup")
	b.ReportMetric(float64(testbed.MaxRSS(r.sweep))/1024, "sweep_peak_MB")
	return r
}

// fillCluster creates the namespaces, the pods (bound to a node, one
// container, as the apiserver stores them before a kubelet reports: a
// status for each would double the setup's requests),
// the evicted and crash-looping pods, and the Ingresses with their TLS
// secrets, with bulk client-go calls (kubectl is far too slow for this).
func fillCluster(ctx context.Context, cs kubernetes.Interface, size clusterSize) error {
	for i := range size.namespaces {
		if err := kube.EnsureNamespace(ctx, cs, benchNS(i)); err != nil {
			return err
		}
	}
	healthy := size.pods - size.evicted - size.crashing
	pods := make([]*corev1.Pod, 0, size.pods)
	for i := range healthy {
		pods = append(pods, kube.NewPod(benchNS(i%size.namespaces), fmt.Sprintf("app-%05d", i), kube.PodOptions{
			NodeName: fmt.Sprintf("node-%d", i%50),
		}))
	}
	for i := range size.crashing {
		pods = append(pods, kube.NewPod(benchNS((i*13)%size.namespaces), fmt.Sprintf("crash-%04d", i), kube.PodOptions{
			NodeName: fmt.Sprintf("node-%d", i%50), Status: kube.CrashLoopStatus("main", 40, 1),
		}))
	}
	pods = append(pods, evictedPods(size, 0)...)
	if _, err := kube.CreatePods(ctx, cs, pods, 32); err != nil {
		return err
	}
	return createIngresses(ctx, cs, size)
}

func benchNS(i int) string { return fmt.Sprintf("ksdt-bench-%03d", i) }

// evictedPods are the evicted pods of a round, spread over every seventh
// namespace (evictions cluster on a few nodes and namespaces).
func evictedPods(size clusterSize, round int) []*corev1.Pod {
	pods := make([]*corev1.Pod, 0, size.evicted)
	for i := range size.evicted {
		pods = append(pods, kube.NewPod(benchNS((i*7)%size.namespaces), fmt.Sprintf("evicted-r%d-%04d", round, i), kube.PodOptions{
			NodeName: fmt.Sprintf("node-%d", i%3), Status: kube.EvictedStatus(""),
		}))
	}
	return pods
}

func refillEvicted(b *testing.B, cs kubernetes.Interface, size clusterSize, round int) {
	b.Helper()
	if _, err := kube.CreatePods(context.Background(), cs, evictedPods(size, round), 32); err != nil {
		b.Fatal(err)
	}
}

func countFailed(tb testing.TB, cs kubernetes.Interface) int {
	tb.Helper()
	n, opts := 0, metav1.ListOptions{FieldSelector: "status.phase=Failed", Limit: 1000}
	for {
		list, err := cs.CoreV1().Pods("").List(context.Background(), opts)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(list.Items)
		if opts.Continue = list.Continue; opts.Continue == "" {
			return n
		}
	}
}

// checkClusterReport fails unless the sweep's cluster source worked and
// it found every evicted pod; it returns the pods the sweep read.
func checkClusterReport(b *testing.B, path string, size clusterSize) int {
	b.Helper()
	rep := testbed.ReadReport(b, path)
	for _, s := range rep.Sources {
		if s.Source == diag.SourceCluster && !s.OK {
			b.Fatalf("the sweep's cluster source failed: %s", s.Error)
		}
	}
	f, ok := rep.Finding("k8s.evicted-pods")
	if !ok || !strings.HasPrefix(f.Title, fmt.Sprintf("%d evicted pods", size.evicted)) {
		b.Fatalf("the sweep found %q", f.Title)
	}
	return size.pods
}
