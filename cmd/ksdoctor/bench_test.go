package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// exitedSizes are the sizes of BenchmarkExitedRemove; the is 1,000.
var exitedSizes = []int{250, 500, 1000}

// exitedResult is what one size measured: per round, one run of each
// command, each on its own fresh set.
type exitedResult struct {
	count             int
	ours, prune, seed []testbed.Run
}

// BenchmarkExitedRemove times `ksdoctor fix docker.exited-containers/remove
// --yes` (fresh sweep, preview, removal, re-check) against `docker
// container prune -f` (the daemon's own bulk call: the floor) and the
// seed's pipeline `docker rm $(docker ps -a | grep Exited | awk '{print
// $1}')` on a real dockerd, each on a fresh set of exited containers, at
// three sizes. The three take turns (the order rotates every round), so a
// change in machine load hits all alike. Goals at 1,000: ksdoctor ≤ 1.2×
// prune, faster than the seed in every round. Root; `make bench-exited`.
func BenchmarkExitedRemove(b *testing.B) {
	testbed.Require(b, "dockerd", "docker")
	d := testbed.StartDockerd(b, testbed.DockerdOptions{})
	img := d.BusyboxImage(b)
	mk := buildMkexited(b)
	var results []exitedResult
	for _, count := range testbed.BenchSizes(exitedSizes) {
		b.Run(fmt.Sprintf("exited=%d", count), func(b *testing.B) {
			results = append(results, benchExited(b, d, mk, img, count))
			// Written after every size: a run cut short keeps what it measured.
			writeExitedSection(b, results)
		})
	}
}

func benchExited(b *testing.B, d *testbed.Dockerd, mk, img string, count int) exitedResult {
	prepare := func() {
		if out, err := exec.Command(mk, d.Host, img, fmt.Sprint(count)).CombinedOutput(); err != nil {
			b.Fatalf("prepare: %v\n%s", err, out)
		}
	}
	timed := func(name string, args ...string) testbed.Run {
		b.StopTimer()
		prepare()
		b.StartTimer()
		r, _, err := testbed.TimeCmd(exec.Command(args[0], args[1:]...), nil)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		b.StopTimer()
		if left := d.CLI(b, "ps", "-aq", "--filter", "status=exited"); left != "" {
			b.Fatalf("%s left exited containers:\n%s", name, left)
		}
		b.StartTimer()
		return r
	}
	ours := []string{bin, "fix", "docker.exited-containers/remove", "--yes", "--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile}
	prune := []string{"docker", "-H", d.Host, "container", "prune", "-f"}
	seed := []string{"sh", "-c", fmt.Sprintf("docker -H %[1]s rm $(docker -H %[1]s ps -a | grep Exited | awk '{print $1}') >/dev/null", d.Host)}
	r := exitedResult{count: count}
	rounds := testbed.BenchPairs(3)
	for b.Loop() {
		for i := range rounds {
			runs := map[string]testbed.Run{}
			order := []string{"ksdoctor", "prune", "seed"}
			order = append(order[i%3:], order[:i%3]...)
			for _, name := range order {
				switch name {
				case "ksdoctor":
					runs[name] = timed(name, ours...)
				case "prune":
					runs[name] = timed(name, prune...)
				case "seed":
					runs[name] = timed(name, seed...)
				}
			}
			r.ours = append(r.ours, runs["ksdoctor"])
			r.prune = append(r.prune, runs["prune"])
			r.seed = append(r.seed, runs["seed"])
		}
	}
	vsPrune, vsSeed := exitedRatios(r)
	mp, _, _ := testbed.Median(vsPrune)
	ms, _, _ := testbed.Median(vsSeed)
	b.ReportMetric(mp, "ratio_prune")
	b.ReportMetric(ms, "ratio_seed")
	b.Logf("exited=%d over %d rounds: ksdoctor/prune %v, ksdoctor/seed %v", count, len(r.ours), vsPrune, vsSeed)
	return r
}

func exitedRatios(r exitedResult) (vsPrune, vsSeed []float64) {
	for i := range r.ours {
		vsPrune = append(vsPrune, r.ours[i].Wall.Seconds()/r.prune[i].Wall.Seconds())
		vsSeed = append(vsSeed, r.ours[i].Wall.Seconds()/r.seed[i].Wall.Seconds())
	}
	return vsPrune, vsSeed
}

func writeExitedSection(b *testing.B, results []exitedResult) {
	// By size, whatever order KSDOCTOR_BENCH_SIZES ran them in: the
	// summary is of the largest.
	results = slices.Clone(results)
	slices.SortFunc(results, func(x, y exitedResult) int { return x.count - y.count })
	var w strings.Builder
	fmt.Fprintf(&w, "## Removing exited containers\n\n")
	fmt.Fprintf(&w, "Written by `make bench-exited` (`BenchmarkExitedRemove`, cmd/ksdoctor/bench_test.go) on %s. Machine: %s, "+
		"shared with other jobs (load average with every figure).\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), testbed.BenchMachine())
	w.WriteString("A real dockerd in a network namespace. Each command runs on a fresh set of containers that ran `true` " +
		"(made through the Engine API, untimed); per round each of the three runs once, the order rotating every round:\n\n" +
		"- `ksdoctor fix docker.exited-containers/remove --yes` (a fresh sweep, the preview, the removal, the re-check);\n" +
		"- `docker container prune -f` (the daemon's own bulk call: the floor);\n" +
		"- the seed's `docker rm $(docker ps -a | grep Exited | awk '{print $1}')`.\n\n" +
		"Ratios are of the same round. Goals at 1,000: ksdoctor ≤ 1.2× prune, faster than the seed in every round.\n\n")
	w.WriteString("| exited | rounds | ksdoctor median (s) | prune median (s) | seed median (s) | ksdoctor / prune median (range) | ksdoctor / seed median (range) | ksdoctor peak RSS (MiB) | load average first → last round |\n")
	w.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		vp, vs := exitedRatios(r)
		mp, lp, hp := testbed.Median(vp)
		ms, ls, hs := testbed.Median(vs)
		fmt.Fprintf(&w, "| %d | %d | %.2f | %.2f | %.2f | **%.2f×** (%.2f–%.2f) | **%.2f×** (%.2f–%.2f) | %.1f | %s → %s |\n",
			r.count, len(r.ours), testbed.WallMedian(r.ours), testbed.WallMedian(r.prune), testbed.WallMedian(r.seed), mp, lp, hp, ms, ls, hs,
			float64(testbed.MaxRSS(r.ours))/1024, r.ours[0].Load, r.seed[len(r.seed)-1].Load)
	}
	last := results[len(results)-1]
	vp, vs := exitedRatios(last)
	mp, _, _ := testbed.Median(vp)
	_, _, worst := testbed.Median(vs)
	fmt.Fprintf(&w, "\nAt %d: ksdoctor / prune **%.2f×** (%s); faster than the seed in every round: **%s** (worst round %.2f×).\n",
		last.count, mp, testbed.MetOrNot(mp <= 1.2), map[bool]string{true: "yes", false: "no"}[worst < 1], worst)
	if path, err := testbed.WriteBenchSection("exited", w.String()); err != nil {
		b.Fatal(err)
	} else if path != "" {
		b.Logf("wrote the exited-containers section of %s", path)
	}
	b.Log("\n" + w.String())
}
