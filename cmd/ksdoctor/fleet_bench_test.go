package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/fleet/fleettest"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// BenchmarkFleet200Nodes: `sweep --all-nodes --node-timeout 5s` on the real
// kube-apiserver with 200 Node objects and no kubelet anywhere. The
// stand-in Job controller (fleettest.StandIn) creates each Job's pod; no
// stand-in kubelet answers, so the sweep must end at its deadline with 200
// nodes "no kubelet". Reported: the time to create the 200 Jobs, the
// command's API requests per node (counted on its transport; the cluster
// checks' own requests are not in it), and, from one run of the real
// binary, its peak RSS.
func BenchmarkFleet200Nodes(b *testing.B) {
	const nodes = 200
	c := kube.Start(b)
	admin := c.Clientset(b, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	applyFleetDeploy(b, ctx, admin, kube.Reader)
	kc := c.WriteKubeconfig(b, kube.Reader)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ksdt-bench-%03d", i)}}
			if _, err := admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	standIn, err := fleettest.StartStandIn(sctx, admin, "ksdoctor", func(string) fleettest.Kubelet { return fleettest.NoKubelet })
	if err != nil {
		b.Fatal(err)
	}
	logs := fleettest.Logs{CS: admin, ByNode: func(string) []byte { return nil }}
	var createMs, requests, wall float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, stderr, code, ct := fleetRun(b, ctx, logs, "--kubeconfig", kc, "--node-timeout", "5s", "--format", "json")
		wall += time.Since(start).Seconds()
		rep := checkBenchReport(b, out, stderr, code, nodes, 0)
		createMs += float64(rep.JobsCreatedMs)
		requests += float64(ct.all)
		if ct.get("WATCH pods") != 1 {
			b.Errorf("%d pod watches: %v", ct.get("WATCH pods"), ct.n)
		}
		b.Logf("requests by kind: %v", ct.n)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(createMs/n, "ms-create-200-jobs")
	b.ReportMetric(requests/n/nodes, "requests/node")
	b.ReportMetric(wall/n, "s/sweep")

	// Peak RSS of the real binary for the same sweep (under time(1): see
	// runPeakRSS).
	r, kib := runPeakRSS(b, os.Environ(), []string{bin, "sweep", "--all-nodes", "--kubeconfig", kc, "--node-timeout", "5s", "--format", "json"})
	// The binary reads logs through pods/log; no pod succeeds here, so none is read.
	checkBenchReport(b, r.stdout, r.stderr, r.code, nodes, 0)
	b.ReportMetric(float64(kib)/1024, "MiB-peak-RSS")
	if left := leftBehind(b, ctx, admin); len(left) > 0 {
		b.Errorf("left behind: %d objects", len(left))
	}
	stop()
	standIn.Wait()
	if err := standIn.Err(); err != nil {
		b.Error(err)
	}
}

// checkBenchReport checks a fleet benchmark's report: answered nodes
// answered, every other node is reported as not answered for want of a
// kubelet, and the exit code is the report's (3 when no node answered).
func checkBenchReport(b *testing.B, out, stderr string, code, nodes, answered int) *fleet.Report {
	b.Helper()
	var rep fleet.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		b.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	noKubelet := 0
	for _, n := range rep.Nodes {
		if n.Reason == fleet.ReasonNoKubelet {
			noKubelet++
		}
	}
	if rep.Summary.Answered != answered || noKubelet != nodes-answered || code != rep.Summary.ExitCode || answered == 0 && code != exitCannot {
		b.Fatalf("exit %d (report %d), %d answered, %d no kubelet; want %d, %d\n%s", code, rep.Summary.ExitCode, rep.Summary.Answered, noKubelet, answered, nodes-answered, stderr)
	}
	return &rep
}
