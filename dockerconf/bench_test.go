package dockerconf_test

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
	confChecks := []string{"docker.config-unparseable", "docker.config-conflict", "docker.options-drift", "docker.baseline-drift", "docker.log-rotation-missing"}
	var without []diag.Check
	for _, c := range checks.All() {
		if !slices.Contains(confChecks, c.ID) {
			without = append(without, c)
		}
	}
	sweep := func(b *testing.B, cs []diag.Check) {
		g := n.gatherer()
		defer g.Close()
		cfg := diag.DefaultConfig()
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			s := g.Collect(context.Background(), diag.Tool{Name: "bench"}, cs, cfg, nil)
			diag.Run(cs, s, cfg, diag.RunOptions{})
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/sweep")
	}
	b.Run("resolve-20-dropins", func(b *testing.B) {
		for b.Loop() {
			dockerconf.Resolve(fsys, n.d.Args)
		}
	})
	b.Run("sweep-without-dockerconf", func(b *testing.B) { sweep(b, without) })
	b.Run("sweep-with-dockerconf", func(b *testing.B) { sweep(b, checks.All()) })
}
