package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
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
			if err := ValidateJSON(b.Bytes()); err != nil {
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

func FuzzRedactString(f *testing.F) {
	f.Add("password=hunter2 token: abc")
	f.Add("-----BEGIN EC PRIVATE KEY-----\nxx")
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactString(s)
		if strings.Contains(out, "PRIVATE KEY-----\n") && strings.Contains(s, "BEGIN") {
			t.Errorf("key body survived: %q", out)
		}
	})
}
