package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// BenchmarkExitedRemove300 times `ksdoctor fix docker.exited-containers/remove
// --yes` against the seed's pipeline `docker rm $(docker ps -a | grep Exited |
// awk '{print $1}')` on a real dockerd, each run on a fresh set of 300 exited
// containers, in the same hyperfine run. It reports both means and their
// ratio (goal: ratio <= 1.1).
func BenchmarkExitedRemove300(b *testing.B) {
	testbed.Require(b, "dockerd", "hyperfine", "docker")
	d := testbed.StartDockerd(b, testbed.DockerdOptions{})
	img := d.BusyboxImage(b)
	dir := b.TempDir()
	out := filepath.Join(dir, "hyperfine.json")
	prep := fmt.Sprintf("../../scripts/make-exited.sh %s %s 300", d.Host, img)
	ours := fmt.Sprintf("%s fix docker.exited-containers/remove --yes --docker-host %s --dockerd-pidfile %s", bin, d.Host, d.PIDFile)
	seed := fmt.Sprintf("docker -H %s rm $(docker -H %s ps -a | grep Exited | awk '{print $1}')", d.Host, d.Host)
	for b.Loop() {
		cmd := exec.Command("hyperfine", "--runs", "5", "--export-json", out, "--style", "basic",
			"--prepare", prep, "-n", "ksdoctor-fix", ours, "-n", "seed-docker-rm", seed)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("hyperfine: %v", err)
		}
	}
	var res struct {
		Results []struct {
			Command string  `json:"command"`
			Mean    float64 `json:"mean"`
			Stddev  float64 `json:"stddev"`
		} `json:"results"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Results) != 2 {
		b.Fatalf("hyperfine output: %v %s", err, data)
	}
	m := map[string]float64{}
	for _, r := range res.Results {
		m[r.Command] = r.Mean
		b.ReportMetric(r.Mean, strings.ReplaceAll(r.Command, "-", "_")+"_s")
	}
	ratio := m["ksdoctor-fix"] / m["seed-docker-rm"]
	b.ReportMetric(ratio, "ratio_ksdoctor/seed")
	fmt.Printf("exited-remove-300: ksdoctor %.3fs, seed pipeline %.3fs, ratio %.2f (goal <= 1.1)\n", m["ksdoctor-fix"], m["seed-docker-rm"], ratio)
}
