package doctor_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// The benchmark: 200 namespaces, 10,000 pods, 500 of them evicted,
// on the real kube-apiserver. Run by `make bench-cluster`
// (KSDOCTOR_BENCH_CLUSTER=1); the seed's kubectl loops are the baseline,
// measured in the same run.
const (
	benchNamespaces = 200
	benchPods       = 10000
	benchEvicted    = 500
)

// seedFindLoop is the seed article's per-namespace loop, verbatim in shape.
const seedFindLoop = `for ns in $(kubectl get ns | grep -v NAME | awk '{print $1}'); do kubectl get pods -n $ns | grep Evicted; done`

// seedDeleteLoop is the seed's cleanup: two kubectl calls per namespace,
// failing on namespaces with nothing to delete.
const seedDeleteLoop = `for ns in $(kubectl get ns | grep -v NAME | awk '{print $1}'); do kubectl get pods -n $ns | grep Evicted | awk '{print $1}' | xargs kubectl delete pod -n $ns; done`

var benchState struct {
	once sync.Once
	kc   string
	err  error
}

// removeBenchKubeconfig is called by TestMain.
func removeBenchKubeconfig() {
	if benchState.kc != "" {
		_ = os.Remove(benchState.kc)
	}
}

func benchNS(i int) string { return fmt.Sprintf("ksdt-bench-%03d", i) }

func benchCluster(b *testing.B) (*kube.Cluster, string) {
	b.Helper()
	if os.Getenv("KSDOCTOR_BENCH_CLUSTER") != "1" {
		b.Skip("set KSDOCTOR_BENCH_CLUSTER=1 (make bench-cluster)")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		b.Fatalf("the baseline needs kubectl: %v", err)
	}
	c := realCluster(b)
	benchState.once.Do(func() {
		start := time.Now()
		cs := c.Clientset(b, kube.Admin)
		ctx := context.Background()
		for i := range benchNamespaces {
			if err := kube.EnsureNamespace(ctx, cs, benchNS(i)); err != nil {
				benchState.err = err
				return
			}
		}
		// Bulk setup with client-go (kubectl is far too slow for this).
		pods := make([]*corev1.Pod, 0, benchPods-benchEvicted)
		for i := range benchPods - benchEvicted {
			pods = append(pods, kube.NewPod(benchNS(i%benchNamespaces), fmt.Sprintf("app-%05d", i), kube.PodOptions{
				NodeName: fmt.Sprintf("node-%d", i%20), Status: corev1.PodStatus{Phase: corev1.PodRunning},
			}))
		}
		if _, err := kube.CreatePods(ctx, cs, pods, 32); err != nil {
			benchState.err = err
			return
		}
		if err := createEvicted(ctx, cs, 0); err != nil {
			benchState.err = err
			return
		}
		// The kubeconfig must outlive this first benchmark's TempDir.
		f, err := os.CreateTemp("", "ksdt-bench-kubeconfig-")
		if err != nil {
			benchState.err = err
			return
		}
		f.Close()
		benchState.kc = f.Name()
		if err := clientcmd.WriteToFile(*c.Kubeconfig(kube.Admin), benchState.kc); err != nil {
			benchState.err = err
			return
		}
		b.Logf("setup: %d namespaces, %d pods (%d evicted) in %s", benchNamespaces, benchPods, benchEvicted, time.Since(start).Round(time.Millisecond))
	})
	if benchState.err != nil {
		b.Fatalf("bench setup: %v", benchState.err)
	}
	return c, benchState.kc
}

// createEvicted creates the 500 evicted pods, spread over the namespaces
// that the first 250 of them use (as evictions cluster on a few nodes and
// namespaces); round distinguishes the names of successive rounds.
func createEvicted(ctx context.Context, cs kubernetes.Interface, round int) error {
	pods := make([]*corev1.Pod, 0, benchEvicted)
	for i := range benchEvicted {
		pods = append(pods, kube.NewPod(benchNS((i*7)%benchNamespaces), fmt.Sprintf("evicted-r%d-%04d", round, i), kube.PodOptions{
			NodeName: fmt.Sprintf("node-%d", i%3), Status: kube.EvictedStatus(""),
		}))
	}
	_, err := kube.CreatePods(ctx, cs, pods, 32)
	return err
}

func countEvicted(b *testing.B, cs kubernetes.Interface) int {
	list, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "status.phase=Failed"})
	if err != nil {
		b.Fatal(err)
	}
	return len(list.Items)
}

func runSeed(b *testing.B, kubeconfig, script string) string {
	b.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, _ := cmd.CombinedOutput() // the seed loop fails on empty namespaces by design
	return string(out)
}

// BenchmarkClusterSweep: ksdoctor's whole cluster sweep (every cluster
// check) vs the seed's loop that only finds the evicted pods.
func BenchmarkClusterSweep(b *testing.B) {
	c, kc := benchCluster(b)
	b.Run("ksdoctor", func(b *testing.B) {
		d := newClusterDoctor(b, c, kube.Admin)
		for range b.N {
			snap, rep := d.Sweep(context.Background(), doctor.Progress{})
			if err := snap.SourceError(diag.SourceCluster); err != nil {
				b.Fatal(err)
			}
			f, ok := rep.Finding("k8s.evicted-pods")
			if !ok || !strings.HasPrefix(f.Title, fmt.Sprintf("%d evicted pods", benchEvicted)) {
				b.Fatalf("sweep found %q", f.Title)
			}
			b.ReportMetric(float64(snap.Cluster.PodsSeen), "pods/op")
		}
	})
	b.Run("seed-kubectl-loop", func(b *testing.B) {
		for range b.N {
			out := runSeed(b, kc, seedFindLoop)
			if n := strings.Count(out, "Evicted"); n != benchEvicted {
				b.Fatalf("seed loop found %d evicted pods, want %d:\n%.2000s", n, benchEvicted, out)
			}
		}
	})
}

// BenchmarkClusterDelete: `ksdoctor fix k8s.evicted-pods/delete` as the
// doctor runs it (sweep the check, delete with UID preconditions, re-sweep
// to verify) vs the seed's delete loop. Each iteration recreates the 500
// evicted pods untimed.
func BenchmarkClusterDelete(b *testing.B) {
	c, kc := benchCluster(b)
	cs := c.Clientset(b, kube.Admin)
	round := 0
	refill := func(b *testing.B) {
		b.StopTimer()
		defer b.StartTimer()
		if n := countEvicted(b, cs); n == 0 {
			round++
			if err := createEvicted(context.Background(), cs, round); err != nil {
				b.Fatal(err)
			}
		} else if n != benchEvicted {
			b.Fatalf("%d evicted pods before the round, want 0 or %d", n, benchEvicted)
		}
	}
	b.Run("ksdoctor", func(b *testing.B) {
		d := newClusterDoctor(b, c, kube.Admin)
		for range b.N {
			refill(b)
			cand, err := d.Prepare(context.Background(), "k8s.evicted-pods/delete", nil)
			if err != nil {
				b.Fatal(err)
			}
			res := d.Apply(context.Background(), cand)
			if res.Error != "" || !res.Verified || res.Count(diag.OutcomeDone) != benchEvicted {
				b.Fatalf("delete: %d done, error %q, verified %v", res.Count(diag.OutcomeDone), res.Error, res.Verified)
			}
		}
	})
	b.Run("seed-kubectl-loop", func(b *testing.B) {
		for range b.N {
			refill(b)
			runSeed(b, kc, seedDeleteLoop)
			b.StopTimer()
			if n := countEvicted(b, cs); n != 0 {
				b.Fatalf("seed loop left %d evicted pods", n)
			}
			b.StartTimer()
		}
	})
}
