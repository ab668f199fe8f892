package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// scrape fetches url over HTTP from inside ns and parses the text format.
func scrape(t *testing.T, ns *testbed.Netns, url string) map[string]*dto.MetricFamily {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var err error
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s %v", url, resp.Status, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, body)
	}
	return mfs
}

// sample finds the value of the series of family name whose labels
// include want.
func sample(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m.GetGauge().GetValue() + m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// TestTextfileReadByRealNodeExporter: sweep --textfile writes ksdoctor.prom;
// Debian's prometheus-node-exporter, with only its textfile collector, runs
// on 127.0.0.1 inside a network namespace made for the test and serves the
// metrics; the scrape, parsed with prometheus/common/expfmt, holds the
// findings, check states, duration and time, and label values with quotes,
// backslashes and line feeds come back exactly.
func TestTextfileReadByRealNodeExporter(t *testing.T) {
	testbed.Require(t, "prometheus-node-exporter")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(conf, []byte("suppressions:\n- check: net.typo\n  reason: a typo\n"), 0o600)
	snap := filepath.Join("..", "..", "fixtures", "exited-containers", "snapshot.json")
	r := ksd(t, "sweep", "--from", snap, "--config", conf, "--textfile", dir, "--format", "json")
	r.wantCode(t, exitWarning)
	rep := decodeReport(t, []byte(r.stdout))
	if fi, err := os.Stat(filepath.Join(dir, "ksdoctor.prom")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("ksdoctor.prom: %v %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A second file with hostile label values, rendered by the same code.
	hostile := `net.x/a"b\c` + "\nd\xff"
	hrep := &diag.Report{Host: diag.HostFacts{Hostname: "n"}, StartedAt: time.Unix(100, 0),
		Checks:   []diag.CheckResult{{ID: "net.x", Status: diag.StatusFail}},
		Findings: []diag.Finding{{ID: hostile, Check: "net.x", Severity: diag.Warning, Title: "t", Summary: "s"}}}
	var hb bytes.Buffer
	if err := report.WriteTextfile(&hb, hrep); err != nil {
		t.Fatal(err)
	}
	// Its metric names are ksdoctor's too; node_exporter refuses a family
	// spread over two files with different help, so rename them.
	if err := os.WriteFile(filepath.Join(dir, "hostile.prom"), bytes.ReplaceAll(hb.Bytes(), []byte("ksdoctor_"), []byte("hostile_")), 0o644); err != nil {
		t.Fatal(err)
	}

	ns := testbed.NewNetns(t)
	ns.Start(t, "prometheus-node-exporter", "--web.listen-address=127.0.0.1:9100",
		"--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory="+dir)
	ns.WaitListen(t, "127.0.0.1:9100", 30*time.Second)
	mfs := scrape(t, ns, "http://127.0.0.1:9100/metrics")

	if v, ok := sample(mfs, "node_textfile_scrape_error", nil); !ok || v != 0 {
		t.Fatalf("node_textfile_scrape_error = %v (present %v): node_exporter could not read the files", v, ok)
	}
	if _, ok := sample(mfs, "node_textfile_mtime_seconds", map[string]string{"file": filepath.Join(dir, "ksdoctor.prom")}); !ok {
		if _, ok := sample(mfs, "node_textfile_mtime_seconds", map[string]string{"file": "ksdoctor.prom"}); !ok {
			t.Errorf("node_exporter did not read ksdoctor.prom: %v", mfs["node_textfile_mtime_seconds"])
		}
	}
	for _, f := range rep.Findings {
		want := map[string]string{"check": f.Check, "severity": string(f.Severity), "finding": f.ID, "suppressed": fmt.Sprint(f.Suppressed != nil)}
		if v, ok := sample(mfs, "ksdoctor_finding", want); !ok || v != 1 {
			t.Errorf("ksdoctor_finding%v = %v (present %v)", want, v, ok)
		}
	}
	if n := len(mfs["ksdoctor_finding"].GetMetric()); n != len(rep.Findings) {
		t.Errorf("%d ksdoctor_finding series for %d findings", n, len(rep.Findings))
	}
	for _, c := range rep.Checks {
		for _, st := range []diag.Status{diag.StatusPass, diag.StatusFail, diag.StatusError, diag.StatusSkipped} {
			want := 0.0
			if st == c.Status {
				want = 1
			}
			if v, ok := sample(mfs, "ksdoctor_check_status", map[string]string{"check": c.ID, "status": string(st)}); !ok || v != want {
				t.Errorf("ksdoctor_check_status{%s,%s} = %v (present %v), want %v", c.ID, st, v, ok, want)
			}
		}
	}
	if v, _ := sample(mfs, "ksdoctor_findings", map[string]string{"severity": "warning"}); v != 1 {
		t.Errorf("ksdoctor_findings{warning} = %v, want 1", v)
	}
	end := rep.StartedAt.Add(time.Duration(rep.DurationMs) * time.Millisecond)
	if v, ok := sample(mfs, "ksdoctor_last_success_timestamp_seconds", nil); !ok || v != float64(end.UnixMilli())/1000 {
		t.Errorf("ksdoctor_last_success_timestamp_seconds = %v, want %v (the snapshot's sweep)", v, float64(end.UnixMilli())/1000)
	}
	if v, ok := sample(mfs, "ksdoctor_sweep_duration_seconds", nil); !ok || v != float64(rep.DurationMs)/1000 {
		t.Errorf("ksdoctor_sweep_duration_seconds = %v, want %v", v, float64(rep.DurationMs)/1000)
	}
	wantID := strings.ToValidUTF8(hostile, "\uFFFD")
	if v, ok := sample(mfs, "hostile_finding", map[string]string{"finding": wantID}); !ok || v != 1 {
		t.Errorf("the hostile label value did not come back as %q: %v", wantID, mfs["hostile_finding"])
	}
}

// TestTextfileRefusesAMissingDirectory: exit 3 with a hint, after the report.
func TestTextfileRefusesAMissingDirectory(t *testing.T) {
	snap := filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json")
	r := ksd(t, "sweep", "--from", snap, "--textfile", filepath.Join(t.TempDir(), "nope"))
	r.wantCode(t, exitCannot)
	if !strings.Contains(r.stderr, "--textfile takes an existing directory") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestSweepIntervalKeepsTheTextfileFresh: with --interval the sweep runs
// again until SIGTERM (as in the DaemonSet of deploy/textfile), rewriting
// ksdoctor.prom each time, and ends cleanly on the signal; a too short
// interval or one with --from is refused.
func TestSweepIntervalKeepsTheTextfileFresh(t *testing.T) {
	snap := filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json")
	ksd(t, "sweep", "--interval", "1s", "--textfile", t.TempDir()).wantCode(t, exitCannot)
	ksd(t, "sweep", "--interval", "1m", "--from", snap).wantCode(t, exitCannot)

	dir := t.TempDir()
	prom := filepath.Join(dir, "ksdoctor.prom")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sweep", "--interval", "10s", "--textfile", dir, "--output", os.DevNull,
		"--host-root", t.TempDir(), "--docker-host", "unix:///nonexistent/docker.sock", "--kubeconfig", filepath.Join(dir, "none"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var first time.Time
	for rounds := 0; rounds < 2; {
		select {
		case err := <-done:
			t.Fatalf("the loop ended by itself: %v\n%s", err, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		fi, err := os.Stat(prom)
		if err != nil {
			continue
		}
		if rounds == 0 {
			first, rounds = fi.ModTime(), 1
		} else if fi.ModTime().After(first) {
			rounds = 2
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the loop did not end on SIGTERM")
	}
	data, err := os.ReadFile(prom)
	if err != nil || !bytes.Contains(data, []byte("ksdoctor_check_status{check=\"docker.daemon-unreachable\",status=\"fail\"} 1")) {
		t.Errorf("ksdoctor.prom (%v):\n%s", err, data)
	}
}
