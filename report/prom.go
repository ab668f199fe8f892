package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TextfileName is the file node_exporter's textfile collector reads from
// the --textfile directory (it reads only names ending in .prom).
const TextfileName = "ksdoctor.prom"

// promLabel escapes a label value for the Prometheus text exposition
// format: backslash, double quote and line feed; invalid UTF-8 replaced.
func promLabel(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func promFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// WriteTextfile renders r as metrics in the Prometheus text format for
// node_exporter's textfile collector:
//
//	ksdoctor_finding{check,severity,finding,suppressed} 1   one per finding
//	ksdoctor_findings{severity}                          counts, suppressed apart
//	ksdoctor_check_status{check,status} 1|0              every status of every check
//	ksdoctor_sweep_duration_seconds
//	ksdoctor_last_success_timestamp_seconds              when the sweep ended
func WriteTextfile(w io.Writer, r *diag.Report) error {
	r = Redact(r)
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("ksdoctor_finding", "gauge", "A finding of the last ksdoctor sweep (1 per finding; suppressed=\"true\" when the configuration silences it).")
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "ksdoctor_finding{check=\"%s\",severity=\"%s\",finding=\"%s\",suppressed=\"%t\"} 1\n",
			promLabel(f.Check), promLabel(string(f.Severity)), promLabel(f.ID), f.Suppressed != nil)
	}
	sum := r.Summary.WithChecks(r.Checks)
	family("ksdoctor_findings", "gauge", "Findings of the last ksdoctor sweep by severity; suppressed findings are counted only under severity=\"suppressed\".")
	for _, kv := range []struct {
		sev string
		n   int
	}{{"critical", sum.Critical}, {"warning", sum.Warning}, {"info", sum.Info}, {"suppressed", sum.Suppressed}} {
		fmt.Fprintf(&b, "ksdoctor_findings{severity=\"%s\"} %d\n", kv.sev, kv.n)
	}
	family("ksdoctor_check_status", "gauge", "How each check ended in the last ksdoctor sweep: 1 for its status, 0 for the others (error: it could not judge).")
	for _, c := range r.Checks {
		for _, st := range []diag.Status{diag.StatusPass, diag.StatusFail, diag.StatusError, diag.StatusSkipped} {
			v := 0
			if c.Status == st {
				v = 1
			}
			fmt.Fprintf(&b, "ksdoctor_check_status{check=\"%s\",status=\"%s\"} %d\n", promLabel(c.ID), st, v)
		}
	}
	family("ksdoctor_sweep_duration_seconds", "gauge", "How long the last ksdoctor sweep took (gathering and judging).")
	fmt.Fprintf(&b, "ksdoctor_sweep_duration_seconds %s\n", promFloat(float64(r.DurationMs)/1000))
	family("ksdoctor_last_success_timestamp_seconds", "gauge", "When the last ksdoctor sweep that produced a report ended, in Unix seconds.")
	end := r.StartedAt.Add(time.Duration(r.DurationMs) * time.Millisecond)
	fmt.Fprintf(&b, "ksdoctor_last_success_timestamp_seconds %s\n", promFloat(float64(end.UnixMilli())/1000))
	_, err := io.WriteString(w, b.String())
	return err
}
