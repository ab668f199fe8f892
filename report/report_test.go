package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact/redacttest"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

func sample() *diag.Report {
	fs := []diag.Finding{
		{ID: "net.masq", Check: "net.masq", Severity: diag.Critical, Title: "No MASQUERADE", Summary: "containers cannot reach out",
			CausedBy:     []string{"docker.iptables-disabled"},
			Evidence:     []diag.Evidence{{Label: "Rule", Value: "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"}},
			Remediations: []diag.Remediation{{ID: "net.masq/add-rule", Title: "Add the rule", Risk: diag.RiskLow, Preview: "iptables -t nat -A ..."}}},
		{ID: "docker.iptables-disabled", Check: "docker.iptables-disabled", Severity: diag.Warning, Title: "iptables off", Summary: "dockerd --iptables=false",
			Evidence: []diag.Evidence{{Label: "Secret", Value: "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"},
				{Label: "Env", Table: &diag.Table{Columns: []string{"K", "V"}, Rows: [][]string{{"auth", "password=hunter2"}, {"tok", "Bearer abcdefghijklmnop"}}}}}},
	}
	diag.Link(fs)
	return &diag.Report{SchemaVersion: 1, Tool: diag.Tool{Name: "ksdoctor", Version: "t"}, Host: diag.HostFacts{Hostname: "n1"},
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Findings: fs, Summary: diag.Summarize(fs),
		Checks: []diag.CheckResult{{ID: "net.masq", Title: "t", Status: diag.StatusFail}, {ID: "docker.iptables-disabled", Title: "t", Status: diag.StatusSkipped, Reason: "no docker"}}}
}

func TestRenderersShowLinksAndNoSecrets(t *testing.T) {
	for _, f := range []Format{FormatText, FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := Write(&b, sample(), f, Options{}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, secret := range []string{"MIIEow", "hunter2", "abcdefghijklmnop"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output leaks %q", f, secret)
			}
		}
		for _, want := range []string{"docker.iptables-disabled", "net.masq/add-rule"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", f, want)
			}
		}
		if f != FormatJSON && (!strings.Contains(out, "aused by") || !strings.Contains(out, "auses")) {
			t.Errorf("%s output lacks cause/effect links:\n%s", f, out)
		}
		if f == FormatJSON {
			if err := schemacheck.ValidateJSON(b.Bytes()); err != nil {
				t.Errorf("json invalid: %v", err)
			}
		}
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	var plain, colour bytes.Buffer
	Write(&plain, sample(), FormatText, Options{})
	Write(&colour, sample(), FormatText, Options{Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain text has escape codes")
	}
	if !strings.Contains(colour.String(), "\x1b[31m") {
		t.Error("colour text has no colour")
	}
	if !strings.Contains(plain.String(), "✖ CRITICAL") {
		t.Error("severity not shown as symbol and word")
	}
}

// FuzzRedactString plants a generated secret of a fuzzed kind between
// fuzzed text in a finding and renders every format: nothing planted may
// survive. The oracle judges only what it planted (a piece of the secret
// that the fuzzed text itself holds proves nothing), so it does not stop
// on inputs like "BEGINPRIVATE KEY-----" that hold no secret.
func FuzzRedactString(f *testing.F) {
	f.Add(uint8(0), uint64(1), "password=hunter2 token: abc", "")
	f.Add(uint8(1), uint64(2), "-----BEGIN EC PRIVATE KEY-----\nxx", "BEGINPRIVATE KEY-----")
	f.Add(uint8(7), uint64(3), "| ` * _ <br>", "\x1b]0;x\x07")
	f.Fuzz(func(t *testing.T, kind uint8, seed uint64, before, after string) {
		k, p := redacttest.Fuzzed(kind, seed)
		r := sample()
		r.Findings[0].Summary = before + " " + p.Text + "\n" + after
		r.Findings[1].Evidence[0].Value = p.Text
		for _, format := range []Format{FormatText, FormatMarkdown, FormatJSON} {
			var b bytes.Buffer
			if err := Write(&b, r, format, Options{}); err != nil {
				t.Fatal(err)
			}
			if s := redacttest.Survived(p, b.String(), before+after); s != nil {
				t.Fatalf("%s: %s output: %q survived", k.Name, format, s)
			}
		}
	})
}

func TestMarkdownPreviewCannotCloseItsFence(t *testing.T) {
	r := sample()
	r.Findings[0].Remediations[0].Preview = "rule\n```\n# injected heading\n````"
	var b bytes.Buffer
	if err := Write(&b, r, FormatMarkdown, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "`````\nrule\n```\n# injected heading\n````\n`````") {
		t.Errorf("preview not fenced whole:\n%s", b.String())
	}
}
