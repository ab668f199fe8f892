package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
)

// message is what every target gets, rendered once from the redacted
// report.
type message struct {
	host     string
	subject  string
	summary  string // short Markdown: counts, then the findings most urgent first
	markdown []byte // the full Markdown report (mail body)
	json     []byte // the JSON report (attachment, generic payload)
	worst    string
	counts   diag.Summary
}

// maxListed is how many findings and unjudged checks a summary lists.
const maxListed = 20

func newMessage(rep *diag.Report) (*message, error) {
	var js, md bytes.Buffer
	if err := report.WriteJSON(&js, rep); err != nil {
		return nil, fmt.Errorf("render json report: %w", err)
	}
	if err := report.Write(&md, rep, report.FormatMarkdown, report.Options{}); err != nil {
		return nil, fmt.Errorf("render markdown report: %w", err)
	}
	r := report.ForTerminal(rep) // secrets masked, control characters escaped
	sum := r.Summary.WithChecks(r.Checks)
	m := &message{host: r.Host.Hostname, markdown: md.Bytes(), json: js.Bytes(), counts: sum}
	if m.host == "" {
		m.host = "unknown host"
	}
	m.worst = string(sum.Worst())
	if sum.Errored > 0 && sum.Critical == 0 {
		m.worst = "error"
	}
	if m.worst == "" {
		m.worst = "ok"
	}
	m.subject = fmt.Sprintf("[ksdoctor] %s: %s", m.host, counts(sum))
	m.summary = summary(r, sum, "[ksdoctor] "+mdInline(m.host)+": "+counts(sum))
	return m, nil
}

// counts is "2 critical, 1 warning, 1 could not judge" or "healthy".
func counts(s diag.Summary) string {
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{s.Critical, "critical"}, {s.Warning, "warning"}, {s.Errored, "could not judge"}, {s.Info, "info"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	if len(parts) == 0 {
		return "healthy"
	}
	return strings.Join(parts, ", ")
}

// summary is the short Markdown: title (already escaped), when, then the
// findings at warning or above and the checks that could not judge.
func summary(r *diag.Report, s diag.Summary, title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "Swept %s by %s %s.\n\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), r.Tool.Name, r.Tool.Version)
	n := 0
	for _, f := range r.Findings {
		if f.Suppressed != nil || f.Severity.Rank() < diag.Warning.Rank() {
			continue
		}
		if n++; n <= maxListed {
			fmt.Fprintf(&b, "- **%s** `%s`: %s\n", f.Severity, mdCode(f.ID), mdInline(f.Title))
		}
	}
	for _, c := range r.Checks {
		if c.Status != diag.StatusError {
			continue
		}
		if n++; n <= maxListed {
			fmt.Fprintf(&b, "- **could not judge** `%s`: %s\n", mdCode(c.ID), mdInline(c.Error))
		}
	}
	if n > maxListed {
		fmt.Fprintf(&b, "- … and %d more\n", n-maxListed)
	}
	if s.Suppressed > 0 {
		fmt.Fprintf(&b, "\n%d suppressed finding(s) not listed.\n", s.Suppressed)
	}
	return b.String()
}

// mdInline keeps node text on one line and from opening Markdown
// constructs (links, emphasis, headings, HTML).
func mdInline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "`", "'", "#", `\#`).Replace(s)
}

// mdCode keeps an ID inside its code span.
func mdCode(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "\n…(cut)"
	n -= len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:max(n, 0)] + mark
}

// Payload limits, from each service's documentation: WeCom's markdown
// content is at most 4096 bytes; DingTalk and Slack take more, but a
// chat message is for a glance; the report itself goes by mail or in the
// generic payload.
const (
	wecomMax    = 4096
	dingtalkMax = 4000
	slackMax    = 3000
)

// payload is the JSON body for a webhook format.
func (m *message) payload(f Format) ([]byte, error) {
	var v any
	switch f {
	case FormatSlack:
		// Incoming webhooks: {"text": …} in Slack's mrkdwn.
		v = map[string]any{"text": truncate(slackText(m.summary), slackMax)}
	case FormatDingTalk:
		// Custom robot: msgtype markdown with a title (the notification
		// preview) and the text.
		v = map[string]any{"msgtype": "markdown", "markdown": map[string]string{
			"title": m.subject, "text": truncate(m.summary, dingtalkMax)}}
	case FormatWeCom:
		// Group robot: msgtype markdown, content at most 4096 bytes.
		v = map[string]any{"msgtype": "markdown", "markdown": map[string]string{
			"content": truncate(m.summary, wecomMax)}}
	default:
		v = map[string]any{
			"source":  "ksdoctor",
			"host":    m.host,
			"title":   m.subject,
			"worst":   m.worst,
			"summary": m.counts,
			"text":    m.summary,
			"report":  json.RawMessage(m.json),
		}
	}
	return json.Marshal(v)
}

// slackText turns the summary's Markdown into Slack's mrkdwn: *bold*, no
// headings; &, < and > escaped as Slack asks.
func slackText(md string) string {
	var b strings.Builder
	for _, line := range strings.Split(md, "\n") {
		line = strings.ReplaceAll(line, "**", "*")
		if h, ok := strings.CutPrefix(line, "### "); ok {
			line = "*" + h + "*"
		}
		// The entities mdInline wrote stay; any other & is escaped.
		line = strings.NewReplacer("&lt;", "&lt;", "&gt;", "&gt;", "&", "&amp;").Replace(line)
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
