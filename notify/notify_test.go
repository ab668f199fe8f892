package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		raw    string
		format Format
		kind   Kind
		want   Format
		masked string
		err    string
	}{
		{"https://hooks.slack.com/services/T1/B2/secret", FormatAuto, KindWebhook, FormatSlack, "https://hooks.slack.com/[redacted]", ""},
		{"https://oapi.dingtalk.com/robot/send?access_token=abc", FormatAuto, KindWebhook, FormatDingTalk, "https://oapi.dingtalk.com/[redacted]", ""},
		{"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", FormatAuto, KindWebhook, FormatWeCom, "https://qyapi.weixin.qq.com/[redacted]", ""},
		{"https://alerts.example.com/ksdoctor", FormatAuto, KindWebhook, FormatGeneric, "https://alerts.example.com/[redacted]", ""},
		{"https://proxy.example.com/slack", FormatSlack, KindWebhook, FormatSlack, "https://proxy.example.com/[redacted]", ""},
		{"smtp://relay.example.com:25?from=a@example.com&to=b@example.com,c@example.com", FormatAuto, KindSMTP, "", "smtp://relay.example.com:25/[redacted]", ""},
		{"smtps://user@mail.example.com?from=a@example.com&to=b@example.com", FormatAuto, KindSMTP, "", "smtps://[redacted]@mail.example.com/[redacted]", ""},
		{"smtps://user:pw@mail.example.com?from=a@x&to=b@x", FormatAuto, "", "", "", "password in the URL"},
		{"https://user:pw@hooks.example.com/x", FormatAuto, "", "", "", "credentials"},
		{"ftp://example.com/x", FormatAuto, "", "", "", "scheme"},
		{"https:///nohost", FormatAuto, "", "", "", "no host"},
	} {
		tg, err := ParseTarget(c.raw, c.format)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "pw") {
				t.Errorf("%s: err %v, want %q without the secret", c.raw, err, c.err)
			}
			continue
		}
		if err != nil || tg.Kind != c.kind || tg.Format != c.want || tg.String() != c.masked {
			t.Errorf("%s: %+v %q %v", c.raw, tg, tg.String(), err)
		}
	}
	tg, _ := ParseTarget("smtp://relay.example.com?from=a@example.com&to=b@example.com,c@example.com&to=d@example.com", FormatAuto)
	if fmt.Sprint(tg.To) != "[b@example.com c@example.com d@example.com]" {
		t.Errorf("recipients %v", tg.To)
	}
}

func testReport(findings ...diag.Finding) *diag.Report {
	return &diag.Report{Host: diag.HostFacts{Hostname: "n1"}, Findings: findings,
		Summary: diag.Summarize(findings), Checks: []diag.CheckResult{{ID: "c", Status: diag.StatusPass}}}
}

func TestDue(t *testing.T) {
	warn := testReport(diag.Finding{ID: "a", Check: "a", Severity: diag.Warning, Title: "w"})
	info := testReport(diag.Finding{ID: "i", Check: "i", Severity: diag.Info, Title: "i"})
	supp := testReport(diag.Finding{ID: "s", Check: "s", Severity: diag.Critical, Suppressed: &diag.Suppressed{Reason: "known"}})
	errored := testReport()
	errored.Checks = []diag.CheckResult{{ID: "e", Status: diag.StatusError}}
	for _, c := range []struct {
		rep  *diag.Report
		l    Level
		want bool
	}{
		{warn, LevelWarning, true}, {warn, LevelCritical, false}, {info, LevelWarning, false}, {info, LevelInfo, true},
		{supp, LevelInfo, false}, {errored, LevelWarning, true}, {errored, LevelCritical, false}, {testReport(), LevelAll, true},
	} {
		if got := Due(c.rep, c.l); got != c.want {
			t.Errorf("Due(%v, %s) = %v", Fingerprint(c.rep, c.l), c.l, got)
		}
	}
}

// TestPayloadLimits: a node with many long findings still fits WeCom's
// 4096 bytes, cut on a rune boundary, and node text cannot inject Markdown.
func TestPayloadLimits(t *testing.T) {
	var fs []diag.Finding
	for i := range 60 {
		fs = append(fs, diag.Finding{ID: fmt.Sprintf("k8s.crashloop-pods/ns/应用-%d", i), Check: "k8s.crashloop-pods",
			Severity: diag.Warning, Title: strings.Repeat("容器反复重启 ", 10) + "[x](https://evil.example)"})
	}
	m, err := newMessage(testReport(fs...))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatWeCom, FormatDingTalk, FormatSlack, FormatGeneric} {
		b, err := m.payload(f)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprint(v["text"])
		if md, ok := v["markdown"].(map[string]any); ok {
			text = fmt.Sprint(md["content"], md["text"])
		}
		if !utf8.ValidString(text) || strings.Contains(text, "[x](https") {
			t.Errorf("%s: invalid UTF-8 or a live link", f)
		}
		if md, ok := v["markdown"].(map[string]any); ok && f == FormatWeCom && len(md["content"].(string)) > 4096 {
			t.Errorf("wecom content %d bytes", len(md["content"].(string)))
		}
		if f != FormatGeneric && !strings.Contains(text, "…(cut)") && !strings.Contains(text, "and 40 more") {
			t.Errorf("%s: neither cut nor counted", f)
		}
	}
}

func TestSlackText(t *testing.T) {
	got := slackText("### T\n\n- **critical** `a&b`: x &lt;y&gt; & z")
	want := "*T*\n\n- *critical* `a&amp;b`: x &lt;y&gt; &amp; z"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzParseTarget: whatever the URL, parsing does not panic and the
// masked form never shows its user information, path or query.
func FuzzParseTarget(f *testing.F) {
	f.Add("https://hooks.slack.com/services/T1/B2/xyz")
	f.Add("smtps://user@mail.example.com:465?from=a@b&to=c@d")
	f.Add("https://oapi.dingtalk.com/robot/send?access_token=tok#frag")
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := ParseTarget(raw, FormatAuto)
		if err != nil {
			return
		}
		// Exactly scheme://[redacted@]host[/[redacted]]: nothing else of
		// the URL survives.
		rest, ok := strings.CutPrefix(tg.String(), tg.URL.Scheme+"://")
		if tg.URL.User != nil && ok {
			rest, ok = strings.CutPrefix(rest, "[redacted]@")
		}
		if ok {
			rest, ok = strings.CutPrefix(rest, tg.URL.Host)
		}
		if !ok || (rest != "" && rest != "/[redacted]") {
			t.Fatalf("%q masked as %q", raw, tg.String())
		}
	})
}

// TestSend: targets at once, each with its retries, all within the
// deadline; a redirect is refused, not followed; no error shows a token.
func TestSend(t *testing.T) {
	var flakyN, redirN atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if flakyN.Add(1) < 3 {
				w.WriteHeader(http.StatusBadGateway)
			}
		case "/redirect":
			redirN.Add(1)
			http.Redirect(w, r, "/elsewhere?token=tok-r", http.StatusFound)
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	saved := webhookClient.Transport
	webhookClient.Transport = srv.Client().Transport
	defer func() { webhookClient.Transport = saved }()

	var targets []Target
	for _, p := range []string{"/flaky?token=tok-f", "/redirect?token=tok-r", "/hang?token=tok-h"} {
		tg, err := ParseTarget(srv.URL+p, FormatGeneric)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	start := time.Now()
	res := Send(context.Background(), testReport(diag.Finding{ID: "a", Check: "a", Severity: diag.Critical, Title: "c"}),
		targets, Options{Timeout: 2 * time.Second, Backoff: 10 * time.Millisecond})
	took := time.Since(start)
	if res[0].Err != nil || res[0].Attempts != 3 {
		t.Errorf("flaky: %+v", res[0])
	}
	if res[1].Err == nil || res[1].Attempts != 1 || redirN.Load() != 1 {
		t.Errorf("redirect: %+v after %d requests", res[1], redirN.Load())
	}
	if res[2].Err == nil || took > 4*time.Second {
		t.Errorf("hang: %+v after %v", res[2], took)
	}
	for _, r := range res {
		if r.Err != nil && strings.Contains(r.Err.Error(), "tok-") || strings.Contains(r.Target, "tok-") {
			t.Errorf("%s: %v shows a token", r.Target, r.Err)
		}
	}
}
