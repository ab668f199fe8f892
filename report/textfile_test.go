package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ksdoctor/ksdoctor/diag"
)

// FuzzTextfile: whatever a finding's ID, check or severity hold, the
// textfile parses with prometheus/common/expfmt, with one ksdoctor_finding
// series whose finding label is the ID as the report shows it.
func FuzzTextfile(f *testing.F) {
	f.Add("net.x/a\"b\\c\nd", "net.x")
	f.Add("\xff\xfe", "a.b")
	f.Fuzz(func(t *testing.T, id, check string) {
		if id == "" {
			id = "x"
		}
		rep := &diag.Report{StartedAt: time.Unix(1, 0), DurationMs: 1500,
			Checks:   []diag.CheckResult{{ID: check, Status: diag.StatusFail}},
			Findings: []diag.Finding{{ID: id, Check: check, Severity: diag.Warning, Title: "t", Summary: "s"}}}
		var b bytes.Buffer
		if err := WriteTextfile(&b, rep); err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, b.String())
		}
		ms := mfs["ksdoctor_finding"].GetMetric()
		if len(ms) != 1 {
			t.Fatalf("%d finding series", len(ms))
		}
		want := strings.ToValidUTF8(Redact(rep).Findings[0].ID, "\uFFFD")
		for _, l := range ms[0].GetLabel() {
			if l.GetName() == "finding" && l.GetValue() != want {
				t.Fatalf("finding label %q, want %q", l.GetValue(), want)
			}
		}
		if v := mfs["ksdoctor_sweep_duration_seconds"].GetMetric()[0].GetGauge().GetValue(); v != 1.5 {
			t.Fatalf("duration %v", v)
		}
	})
}

// FuzzSARIFLocations: any evidence text gives locations with a line of at
// least 1 and at most maxLocations of them.
func FuzzSARIFLocations(f *testing.F) {
	f.Add("/etc/docker/daemon.json:2:5 and /etc/systemd/system/docker.service.d/docker-options.conf:2 ($DOCKER_OPTS)")
	f.Add("/a:0 /b:99999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		ls := locations(diag.Finding{Evidence: []diag.Evidence{{Label: s, Value: s, Table: &diag.Table{Rows: [][]string{{s}}}}}})
		if len(ls) > maxLocations {
			t.Fatalf("%d locations", len(ls))
		}
		for _, l := range ls {
			if l.Physical.Region == nil || l.Physical.Region.StartLine < 1 || !strings.HasPrefix(l.Physical.Artifact.URI, "file:///") {
				t.Fatalf("location %+v from %q", l, s)
			}
		}
	})
}
