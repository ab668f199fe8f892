package doctor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// addDropIns writes n more drop-ins for docker.service, each with an Environment= line
// and a few unrelated settings, as long-lived nodes accumulate them.
func addDropIns(tb testing.TB, root string, n int) {
	for i := range n {
		p := filepath.Join(root, "etc/systemd/system/docker.service.d", fmt.Sprintf("%02d-extra.conf", i))
		c := fmt.Sprintf("# drop-in %d\n[Unit]\nAfter=network-online.target\n\n[Service]\nEnvironment=\"EXTRA_%d=--label=n%d\" \"HTTP_PROXY=http://proxy.local:3128\"\nLimitNOFILE=1048576\nTimeoutStartSec=0\n", i, i, i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkDockerConf measures, in one run on a real dockerd whose docker.service has 20
// drop-ins: the resolution alone, a node sweep without the docker configuration checks
// (the baseline), and the same sweep with them.
func BenchmarkDockerConf(b *testing.B) {
	n := newNode(b, []string{"--iptables=false", "--log-opt", "max-size=10m"}, "{\n  \"debug\": true\n}\n")
	addDropIns(b, n.root, 20)
	fsys := os.DirFS(n.root)
	if f := dockerconf.Resolve(fsys, nil); len(f.Unit.DropIns) != 21 || len(f.Problems) > 0 {
		b.Fatalf("drop-ins %d, problems %+v", len(f.Unit.DropIns), f.Problems)
	}
	confChecks := []string{"docker.config-unparseable", "docker.config-conflict", "docker.options-drift", "docker.baseline-drift", "docker.log-rotation-missing", "docker.effective-config"}
	var without []diag.Check
	for _, c := range checks.All() {
		if slices.Contains(confChecks, c.ID) {
			continue
		}
		// The baseline gathers nothing of the docker configuration.
		c.Uses = slices.DeleteFunc(slices.Clone(c.Uses), func(s diag.Source) bool { return s == diag.SourceDockerConf })
		without = append(without, c)
	}
	all := checks.All()
	b.Run("resolve-20-dropins", func(b *testing.B) {
		for b.Loop() {
			dockerconf.Resolve(fsys, n.d.Args)
		}
	})
	// The two sweeps alternate within each iteration, so load from other processes on
	// the machine falls on both alike.
	b.Run("sweep-without-vs-with", func(b *testing.B) {
		g := n.gatherer()
		defer g.Close()
		cfg := diag.DefaultConfig()
		var tWithout, tWith time.Duration
		var confSource time.Duration
		sweep := func(cs []diag.Check) (*diag.Snapshot, time.Duration) {
			start := time.Now()
			s := g.Collect(context.Background(), diag.Tool{Name: "bench"}, cs, cfg, nil)
			diag.Run(cs, s, cfg, diag.RunOptions{})
			return s, time.Since(start)
		}
		i := 0
		for b.Loop() {
			// Alternate which goes first: the first sweep of a pair may warm caches.
			var sw, sa *diag.Snapshot
			var dw, da time.Duration
			if i%2 == 0 {
				sw, dw = sweep(without)
				sa, da = sweep(all)
			} else {
				sa, da = sweep(all)
				sw, dw = sweep(without)
			}
			i++
			tWithout += dw
			tWith += da
			if _, ok := sw.Sources[diag.SourceDockerConf]; ok {
				b.Fatal("the baseline gathered docker.config")
			}
			if st := sa.Sources[diag.SourceDockerConf]; st == nil || !st.OK {
				b.Fatal("docker.config not gathered")
			} else {
				confSource += time.Duration(st.DurationMs) * time.Millisecond
			}
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
		b.ReportMetric(ms(tWithout), "ms/sweep-without")
		b.ReportMetric(ms(tWith), "ms/sweep-with")
		b.ReportMetric(ms(tWith-tWithout), "ms/added")
		b.ReportMetric(ms(confSource), "ms/docker.config-source")
	})
}
