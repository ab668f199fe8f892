package npd

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestJudge(t *testing.T) {
	rep := &diag.Report{
		Checks: []diag.CheckResult{
			{ID: "a", Status: diag.StatusFail},
			{ID: "b", Status: diag.StatusError, Error: "source docker timed out"},
			{ID: "c", Status: diag.StatusPass},
			{ID: "d", Status: diag.StatusSkipped, Reason: "no kubeconfig"},
			{ID: "e", Status: diag.StatusPass},
		},
		Findings: []diag.Finding{
			{ID: "a/x", Check: "a", Severity: diag.Warning, Title: "warned x"},
			{ID: "a/y", Check: "a", Severity: diag.Critical, Title: "critical y"},
			{ID: "a/z", Check: "a", Severity: diag.Critical, Title: "silenced", Suppressed: &diag.Suppressed{Reason: "known"}},
			{ID: "c/i", Check: "c", Severity: diag.Info, Title: "just info"},
			{ID: "ksdoctor.suppressions", Check: "ksdoctor.suppressions", Severity: diag.Warning, Title: "expired"},
		},
	}
	for _, c := range []struct {
		ids    []string
		status Status
		msg    string
	}{
		{[]string{"a", "b"}, NonOK, "critical a/y (+1 more): critical y"},
		{[]string{"b", "c"}, Unknown, "unknown b: source docker timed out"},
		{[]string{"c"}, OK, "ok c"},
		{[]string{"c", "e", "d"}, OK, "ok: 2 checks passed"},
		{[]string{"d"}, Unknown, "unknown d: nothing judged, skipped: no kubeconfig"},
		{[]string{"c", "gone"}, Unknown, "unknown gone: not in the report"},
		{nil, NonOK, "critical a/y (+2 more): critical y"},
	} {
		st, msg := Judge(rep, c.ids)
		if st != c.status || msg != c.msg {
			t.Errorf("Judge(%q) = %v %q, want %v %q", c.ids, st, msg, c.status, c.msg)
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"  ok\n", 80, "ok"},
		{"a\nb\tc\x1b[31m", 80, `a b c\x1b[31m`},
		{"critical disk: /数据 满了 filesystem", 25, "critical disk: /数据…"},
		{strings.Repeat("é", 50), 80, strings.Repeat("é", 38) + "…"},
		{"disk --password=hunter2 end", 80, "disk --password=[redacted] end"},
		{"abcdef", 2, "ab"},
		{"abcdef", 0, "abcdef"},
	} {
		got := Line(c.in, c.max)
		if got != c.want {
			t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// FuzzLine: whatever the message, the line is what NPD keeps unchanged:
// valid UTF-8, one line, at most max bytes, nothing for TrimSpace to take.
func FuzzLine(f *testing.F) {
	f.Add("critical disk.docker-root-usage: Docker data-root filesystem / is 93 % full", 80)
	f.Add("数据盘 /var/lib/docker 已满\n第二行", 10)
	f.Add("\xff\xfe bad utf8 \x00", 5)
	f.Fuzz(func(t *testing.T, msg string, max int) {
		if max > 1<<16 || max < -1 {
			return
		}
		got := Line(msg, max)
		limit := max
		if limit < 1 {
			limit = DefaultMaxOutput
		}
		if len(got) > limit || !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r") || got != strings.TrimSpace(got) {
			t.Fatalf("Line(%q, %d) = %q (%d bytes)", msg, max, got, len(got))
		}
	})
}
