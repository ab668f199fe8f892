package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// BenchmarkExitedRemove300 times `ksdoctor fix docker.exited-containers/remove
// --yes` (fresh sweep, preview, removal, re-check) against the seed's
// pipeline `docker rm $(docker ps -a | grep Exited | awk '{print $1}')` on a
// real dockerd, each on a fresh set of 300 exited containers. The two
// alternate, run after run, so a change in machine load hits both alike;
// it reports the medians and their ratio (goal: ratio <= 1.1).
func BenchmarkExitedRemove300(b *testing.B) {
	testbed.Require(b, "dockerd", "docker")
	d := testbed.StartDockerd(b, testbed.DockerdOptions{})
	img := d.BusyboxImage(b)
	dir := b.TempDir()
	mk := filepath.Join(dir, "ksdt-mkexited")
	if out, err := exec.Command("go", "build", "-o", mk, "../../testbed/ksdt-mkexited").CombinedOutput(); err != nil {
		b.Fatalf("build ksdt-mkexited: %v\n%s", err, out)
	}
	const count = 300
	prepare := func() {
		if out, err := exec.Command(mk, d.Host, img, fmt.Sprint(count)).CombinedOutput(); err != nil {
			b.Fatalf("prepare: %v\n%s", err, out)
		}
	}
	timed := func(name string, args ...string) time.Duration {
		start := time.Now()
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		if left := d.CLI(b, "ps", "-aq", "--filter", "status=exited"); left != "" {
			b.Fatalf("%s left exited containers:\n%s", name, left)
		}
		return took
	}
	ours := []string{bin, "fix", "docker.exited-containers/remove", "--yes", "--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile}
	seed := []string{"sh", "-c", fmt.Sprintf("docker -H %[1]s rm $(docker -H %[1]s ps -a | grep Exited | awk '{print $1}') >/dev/null", d.Host)}
	var tOurs, tSeed []time.Duration
	for b.Loop() {
		prepare()
		tOurs = append(tOurs, timed("ksdoctor", ours...))
		prepare()
		tSeed = append(tSeed, timed("seed", seed...))
	}
	mo, ms := median(tOurs), median(tSeed)
	b.ReportMetric(mo.Seconds(), "ksdoctor_s")
	b.ReportMetric(ms.Seconds(), "seed_s")
	b.ReportMetric(mo.Seconds()/ms.Seconds(), "ratio")
	b.Logf("exited-remove-%d over %d paired runs: ksdoctor median %s %v, seed pipeline median %s %v, ratio %.2f (goal <= 1.1)",
		count, len(tOurs), mo, tOurs, ms, tSeed, mo.Seconds()/ms.Seconds())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
