package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// nodeSize is one size of the big-node benchmark. The largest is the
// issue's node: 20,020 nat rules in kube-proxy-shaped chains (11 per
// service), 2,000 containers (1,000 exited, 1,000 created and never
// started), 200 veths, 500 images.
type nodeSize struct{ services, exited, created, veths, images int }

func (s nodeSize) String() string {
	return fmt.Sprintf("rules=%d/containers=%d/veths=%d/images=%d", s.services*11, s.exited+s.created, s.veths, s.images)
}

var nodeSizes = []nodeSize{
	{services: 455, exited: 250, created: 250, veths: 50, images: 125},
	{services: 910, exited: 500, created: 500, veths: 100, images: 250},
	{services: 1820, exited: 1000, created: 1000, veths: 200, images: 500},
}

// nodeResult is what one size measured.
type nodeResult struct {
	size              nodeSize
	floor, sweep      []testbed.Run
	ratios            []float64
	rules, containers int
	sources           string
	defaultTimeouts   string // how the sources did under the default timeouts
}

// BenchmarkBigNode runs the full node sweep (every node check, Docker
// included, JSON report) against the floor of its raw reads
// (`iptables-save` of nat and filter, `docker ps -a`, `ip -d link`, `ip
// route`) on a real dockerd in a network namespace holding the node, at
// three sizes. Floor and sweep alternate (the order flips every pair), so a
// change of machine load hits both; the figure is the ratio of each pair.
// Goals at the largest size: ratio ≤ 1.2, sweep peak RSS ≤ 60 MB. Root; run
// by `make bench-node`.
func BenchmarkBigNode(b *testing.B) {
	testbed.Require(b, "dockerd", "docker", "iptables-restore", "iptables-save", "ip", "nsenter")
	mk := buildMkexited(b)
	var results []nodeResult
	for _, size := range testbed.BenchSizes(nodeSizes) {
		b.Run(size.String(), func(b *testing.B) {
			r := benchNodeSize(b, mk, size)
			results = append(results, r)
			// Written after every size: a run cut short keeps what it measured.
			writeNodeSection(b, results)
		})
	}
}

func buildMkexited(b *testing.B) string {
	b.Helper()
	mk := filepath.Join(b.TempDir(), "ksdt-mkexited")
	if out, err := exec.Command("go", "build", "-o", mk, "../../testbed/ksdt-mkexited").CombinedOutput(); err != nil {
		b.Fatalf("build ksdt-mkexited: %v\n%s", err, out)
	}
	return mk
}

func benchNodeSize(b *testing.B, mk string, size nodeSize) nodeResult {
	start := time.Now()
	d := testbed.StartDockerd(b, testbed.DockerdOptions{})
	ns := d.Netns
	dir := b.TempDir()
	buildBigNodeNet(b, ns, dir, size)
	img := d.BusyboxImage(b)
	if out, err := exec.Command(mk, d.Host, img, fmt.Sprint(size.exited), fmt.Sprint(size.created), fmt.Sprint(size.images)).CombinedOutput(); err != nil {
		b.Fatalf("ksdt-mkexited: %v\n%s", err, out)
	}
	r := nodeResult{size: size}
	r.rules = strings.Count(ns.Run(b, "iptables-save", "-t", "nat"), "\n-A ")
	r.containers = len(strings.Fields(d.CLI(b, "ps", "-aq")))
	b.Logf("%s: node built in %s: %d nat rules, %d containers, load %s", size, time.Since(start).Round(time.Second), r.rules, r.containers, testbed.LoadAvg())

	report := filepath.Join(dir, "report.json")
	home := filepath.Join(dir, "home") // no kubeconfig: the cluster source is absent
	if err := os.Mkdir(home, 0o700); err != nil {
		b.Fatal(err)
	}
	floor := func() *exec.Cmd {
		return ns.Command("sh", "-c", fmt.Sprintf("iptables-save -t nat >/dev/null; iptables-save -t filter >/dev/null; "+
			"docker -H %s ps -a >/dev/null; ip -d link >/dev/null; ip route >/dev/null", d.Host))
	}
	cfg := filepath.Join(dir, "timeouts.yaml")
	if err := os.WriteFile(cfg, []byte("timeouts:\n  source: 120s\n  sweep: 300s\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	sweepWith := func(extra ...string) *exec.Cmd {
		args := append([]string{bin, "sweep", "--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile, "--format", "json", "-o", report}, extra...)
		c := ns.Command(args...)
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
		return c
	}
	// Exit codes of a sweep that ran: findings (1, 2) or a check that could
	// not judge (5: this namespace has no systemd on D-Bus).
	sweepOK := func(code int) bool { return code == 1 || code == 2 || code == 5 }
	// One sweep with the default timeouts (5 s per source) first: whether
	// it fits is a figure of its own. The pairs run with room enough, so a
	// loaded machine's slow source still measures the whole work.
	timeRun(b, sweepWith(), sweepOK)
	r.defaultTimeouts = failedSources(b, report)
	sweep := func() *exec.Cmd { return sweepWith("--config", cfg) }
	pairs := testbed.BenchPairs(5)
	for b.Loop() {
		for i := range pairs {
			var f, s testbed.Run
			if i%2 == 0 {
				f = timeRun(b, floor(), nil)
				s = timeRun(b, sweep(), sweepOK)
			} else {
				s = timeRun(b, sweep(), sweepOK)
				f = timeRun(b, floor(), nil)
			}
			r.floor = append(r.floor, f)
			r.sweep = append(r.sweep, s)
			r.ratios = append(r.ratios, s.Wall.Seconds()/f.Wall.Seconds())
		}
	}
	r.sources = checkNodeReport(b, report, size)
	med, lo, hi := testbed.Median(r.ratios)
	b.ReportMetric(med, "ratio")
	b.ReportMetric(float64(testbed.MaxRSS(r.sweep))/1024, "sweep_peak_MB")
	b.Logf("%s: sweep/floor ratio median %.2f (%.2f–%.2f) over %d pairs; sweep peak RSS %.1f MiB; %s",
		size, med, lo, hi, len(r.ratios), float64(testbed.MaxRSS(r.sweep))/1024, r.sources)
	return r
}

func timeRun(b *testing.B, c *exec.Cmd, ok func(int) bool) testbed.Run {
	b.Helper()
	r, _, err := testbed.TimeCmd(c, ok)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// checkNodeReport fails the benchmark unless the last sweep read the whole
// node: the docker and net sources ok and every exited container counted.
// It returns the sources' durations.
func checkNodeReport(b *testing.B, path string, size nodeSize) string {
	b.Helper()
	rep := testbed.ReadReport(b, path)
	var parts []string
	for _, s := range rep.Sources {
		if (s.Source == diag.SourceDocker || s.Source == diag.SourceNetwork) && !s.OK {
			b.Fatalf("the sweep's %s source failed: %s", s.Source, s.Error)
		}
		st := ""
		if !s.OK {
			st = " (failed)"
		}
		parts = append(parts, fmt.Sprintf("%s %d ms%s", s.Source, s.DurationMs, st))
	}
	found := false
	for _, f := range rep.Findings {
		if f.Check == "docker.exited-containers" && strings.Contains(f.Title, strconv.Itoa(size.exited)) {
			found = true
		}
	}
	if !found {
		b.Fatalf("the sweep did not report %d exited containers", size.exited)
	}
	return "Sources of the last sweep: " + strings.Join(parts, ", ")
}

// buildBigNodeNet adds the node's network to ns: veth pairs (half on
// docker0, each with a /32 route like a CNI's) and the kube-proxy nat
// chains, loaded with iptables-restore --noflush beside dockerd's own.
func buildBigNodeNet(b *testing.B, ns *testbed.Netns, dir string, size nodeSize) {
	b.Helper()
	var links strings.Builder
	for i := range size.veths / 2 {
		fmt.Fprintf(&links, "link add veth%d type veth peer name cali%d\n", i, i)
		if i%2 == 0 {
			fmt.Fprintf(&links, "link set veth%d master docker0\n", i)
		}
		fmt.Fprintf(&links, "link set veth%d up\nlink set cali%d up\n", i, i)
		fmt.Fprintf(&links, "route add 10.233.%d.%d/32 dev cali%d scope link\n", 64+i/250, i%250+1, i)
	}
	batch := filepath.Join(dir, "links.batch")
	if err := os.WriteFile(batch, []byte(links.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	ns.Run(b, "ip", "-batch", batch)
	c := ns.Command("iptables-restore", "--noflush")
	c.Stdin = strings.NewReader(kubeProxyNAT(size.services))
	if out, err := c.CombinedOutput(); err != nil {
		b.Fatalf("iptables-restore: %v\n%s", err, out)
	}
}

// kubeProxyNAT returns a nat table in kube-proxy's iptables-mode shape:
// per service a KUBE-SERVICES jump, a KUBE-SVC chain with a masquerade mark
// and three endpoints picked by probability, each a KUBE-SEP chain with a
// mark and a DNAT (11 rules per service), as scripts/bench-net.sh makes.
func kubeProxyNAT(services int) string {
	var w strings.Builder
	w.WriteString("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n")
	for s := range services {
		fmt.Fprintf(&w, ":KUBE-SVC-%08X - [0:0]\n", s)
		for e := range 3 {
			fmt.Fprintf(&w, ":KUBE-SEP-%08X%d - [0:0]\n", s, e)
		}
	}
	w.WriteString(`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
`)
	for s := range services {
		ip := fmt.Sprintf("10.233.%d.%d", s/250, s%250+1)
		c := fmt.Sprintf(`"ns%d/svc%d:http`, s%50, s)
		fmt.Fprintf(&w, "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment %s cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%08X\n", ip, c, s)
		fmt.Fprintf(&w, "-A KUBE-SVC-%08X ! -s 10.233.64.0/18 -d %s/32 -p tcp -m comment --comment %s cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", s, ip, c)
		for e := range 3 {
			pod := fmt.Sprintf("10.233.%d.%d", 64+((s*3+e)/250)%64, (s*3+e)%250+1)
			if e < 2 {
				fmt.Fprintf(&w, "-A KUBE-SVC-%08X -m comment --comment %s\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-%08X%d\n", s, c, s, e)
			} else {
				fmt.Fprintf(&w, "-A KUBE-SVC-%08X -m comment --comment %s\" -j KUBE-SEP-%08X%d\n", s, c, s, e)
			}
			fmt.Fprintf(&w, "-A KUBE-SEP-%08X%d -s %s/32 -m comment --comment %s\" -j KUBE-MARK-MASQ\n", s, e, pod, c)
			fmt.Fprintf(&w, "-A KUBE-SEP-%08X%d -p tcp -m comment --comment %s\" -m tcp -j DNAT --to-destination %s:8080\n", s, e, c, pod)
		}
	}
	w.WriteString("COMMIT\n")
	return w.String()
}

func writeNodeSection(b *testing.B, results []nodeResult) {
	results = slices.Clone(results)
	sort.Slice(results, func(i, j int) bool { return results[i].rules < results[j].rules })
	var w strings.Builder
	fmt.Fprintf(&w, "## Big node: full sweep vs its raw reads\n\n")
	fmt.Fprintf(&w, "Written by `make bench-node` (`BenchmarkBigNode`, cmd/ksdoctor/node_bench_test.go) on %s. Machine: %s, "+
		"shared with other jobs (the load average is given with every figure).\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), testbed.BenchMachine())
	w.WriteString("A real dockerd in a network namespace holding the node: kube-proxy-shaped nat chains (11 rules per service, " +
		"loaded beside dockerd's own), veth pairs (half on docker0, each with a /32 route), exited containers (ran `true`), " +
		"created containers (never started), distinct images (one rootfs imported again with its own label). " +
		"Pair: `ksdoctor sweep --format json -o FILE` (every node check, Docker included; no kubeconfig) and the floor " +
		"`iptables-save -t nat; iptables-save -t filter; docker ps -a; ip -d link; ip route`, both in the namespace, " +
		"alternating (the order flips every pair). Ratio = sweep wall / floor wall of the same pair. Goals at the largest size: ≤ 1.2×, peak RSS ≤ 60 MB.\n\n")
	w.WriteString("| size | pairs | floor wall median (ms) | sweep wall median (ms) | ratio median (range) | sweep CPU median (ms) | floor CPU median (ms) | sweep peak RSS (MiB) | load average (1, 5, 15 min) first → last pair |\n")
	w.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		fw, sw, fc, sc := runStats(r.floor, r.sweep)
		med, lo, hi := testbed.Median(r.ratios)
		fmt.Fprintf(&w, "| %d nat rules, %d containers, %d veths, %d images | %d | %.0f | %.0f | **%.2f×** (%.2f–%.2f) | %.0f | %.0f | %.1f | %s → %s |\n",
			r.rules, r.containers, r.size.veths, r.size.images, len(r.ratios), fw, sw, med, lo, hi, sc, fc,
			float64(testbed.MaxRSS(r.sweep))/1024, r.floor[0].Load, r.sweep[len(r.sweep)-1].Load)
	}
	w.WriteString("\nOne sweep with the default timeouts (5 s per source, 30 s per sweep), run before the pairs (the pairs run with " +
		"`timeouts: {source: 120s, sweep: 300s}` so that a source slowed by the machine's load still measures the whole work; " +
		"the cluster source is absent, systemd has no D-Bus in the namespace):\n\n")
	for _, r := range results {
		fmt.Fprintf(&w, "- %d nat rules, %d containers: %s (load %s)\n", r.rules, r.containers, r.defaultTimeouts, r.floor[0].Load)
	}
	last := results[len(results)-1]
	med, _, _ := testbed.Median(last.ratios)
	rss := float64(testbed.MaxRSS(last.sweep)) / 1024
	fmt.Fprintf(&w, "\nAt the largest size run (%d nat rules, %d containers): ratio **%.2f×** (%s), sweep peak RSS **%.1f MiB** (%s). %s.\n",
		last.rules, last.containers, med, testbed.MetOrNot(med <= 1.2), rss, testbed.MetOrNot(rss <= 60*1e6/(1<<20)), last.sources)
	if path, err := testbed.WriteBenchSection("node", w.String()); err != nil {
		b.Fatal(err)
	} else if path != "" {
		b.Logf("wrote the big-node section of %s", path)
	}
	b.Log("\n" + w.String())
}

// failedSources words which docker and net sources of a sweep's report
// failed ("all ok" when none).
func failedSources(b *testing.B, path string) string {
	b.Helper()
	rep := testbed.ReadReport(b, path)
	var bad []string
	for _, s := range rep.Sources {
		if !s.OK && s.Source != diag.SourceCluster && s.Source != diag.SourceSystemd {
			bad = append(bad, fmt.Sprintf("%s failed after %d ms (%s)", s.Source, s.DurationMs, s.Error))
		}
	}
	if len(bad) == 0 {
		return "every source ok"
	}
	return strings.Join(bad, "; ")
}

func runStats(floor, sweep []testbed.Run) (fw, sw, fc, sc float64) {
	ms := func(runs []testbed.Run, cpu bool) float64 {
		var xs []float64
		for _, r := range runs {
			d := r.Wall
			if cpu {
				d = r.CPU
			}
			xs = append(xs, float64(d.Microseconds())/1000)
		}
		m, _, _ := testbed.Median(xs)
		return m
	}
	return ms(floor, false), ms(sweep, false), ms(floor, true), ms(sweep, true)
}
