// Package notify sends one sweep's report to where on-call people read it:
// mail over SMTP (smtp:// with STARTTLS required, smtps:// with implicit
// TLS) carrying a Markdown summary and the JSON report attached, and
// HTTPS webhooks in a generic JSON shape or the Slack, DingTalk and WeCom
// robot shapes. Each target is tried a bounded number of times with
// backoff, all of them within one deadline; a failure is returned, never
// raised past the caller's report. Everything sent comes from the redacted
// report, and a target is only ever named masked (MaskURL): webhook URLs
// carry their tokens in the path or the query.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Kind is a target's transport.
type Kind string

// Kinds.
const (
	KindSMTP    Kind = "smtp"
	KindWebhook Kind = "webhook"
)

// Format is a webhook's payload shape.
type Format string

// Webhook formats.
const (
	FormatAuto     Format = ""
	FormatGeneric  Format = "generic"
	FormatSlack    Format = "slack"
	FormatDingTalk Format = "dingtalk"
	FormatWeCom    Format = "wecom"
)

// ParseFormat checks a --notify-format value ("" or "auto": by host).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, FormatGeneric, FormatSlack, FormatDingTalk, FormatWeCom:
		return f, nil
	case "auto":
		return FormatAuto, nil
	}
	return "", fmt.Errorf("unknown notify format %q (want auto, generic, slack, dingtalk or wecom)", s)
}

// Target is one place to send to.
type Target struct {
	Kind   Kind
	URL    *url.URL
	Format Format // webhooks only
	// SMTP: envelope sender and recipients (from= and to= in the URL).
	From string
	To   []string
}

// String is the target masked: safe for logs and errors.
func (t Target) String() string { return MaskURL(t.URL) }

// hostFormats picks a webhook's shape by its host.
var hostFormats = map[string]Format{
	"hooks.slack.com":     FormatSlack,
	"oapi.dingtalk.com":   FormatDingTalk,
	"qyapi.weixin.qq.com": FormatWeCom,
}

// ParseTarget reads a --notify URL: smtp://[user@]host[:port]?from=A&to=B[&to=C]
// (port 587 by default, STARTTLS required), smtps://… (port 465, implicit
// TLS), or https://… (a webhook; format by host unless given). A password
// in the URL is refused: it would sit in argv and in the shell history.
func ParseTarget(raw string, format Format) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole URL, secrets included.
		return Target{}, errors.New("not a URL")
	}
	t := Target{URL: u}
	if u.Host == "" || u.Hostname() == "" {
		return t, fmt.Errorf("%s: no host", MaskURL(u))
	}
	switch u.Scheme {
	case "smtp", "smtps":
		t.Kind = KindSMTP
		if _, set := u.User.Password(); set {
			return t, fmt.Errorf("%s: a password in the URL would be visible in argv: put it in KSDOCTOR_SMTP_PASSWORD or --notify-auth-file", MaskURL(u))
		}
		q := u.Query()
		t.From = q.Get("from")
		for _, to := range q["to"] {
			for _, a := range strings.Split(to, ",") {
				if a = strings.TrimSpace(a); a != "" {
					t.To = append(t.To, a)
				}
			}
		}
		if t.From == "" || len(t.To) == 0 {
			return t, fmt.Errorf("%s: name the sender and recipients in the query: from=ADDRESS and to=ADDRESS (repeatable)", MaskURL(u))
		}
	case "https":
		t.Kind = KindWebhook
		t.Format = format
		if t.Format == FormatAuto {
			t.Format = hostFormats[strings.ToLower(u.Hostname())]
		}
		if t.Format == FormatAuto {
			t.Format = FormatGeneric
		}
		if u.User != nil {
			return t, fmt.Errorf("%s: credentials in a webhook URL are not supported", MaskURL(u))
		}
	default:
		return t, fmt.Errorf("%s: scheme %q: want smtp, smtps or https", MaskURL(u), u.Scheme)
	}
	return t, nil
}

// MaskURL shows a URL's scheme, host and port only: user information,
// path and query (where webhooks keep their tokens) become [redacted].
func MaskURL(u *url.URL) string {
	if u == nil {
		return "[redacted]"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("[redacted]@")
	}
	b.WriteString(u.Host)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Opaque != "" || u.Fragment != "" {
		b.WriteString("/[redacted]")
	}
	return b.String()
}

// Level is --notify-min: the least a sweep must show to be sent.
type Level string

// Levels. Error counts a check that could not judge as a warning: a node
// nobody could judge is worth a message.
const (
	LevelAll      Level = "all"
	LevelInfo     Level = "info"
	LevelWarning  Level = "warning"
	LevelCritical Level = "critical"
)

// ParseLevel checks a --notify-min value.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case LevelAll, LevelInfo, LevelWarning, LevelCritical:
		return l, nil
	}
	return "", fmt.Errorf("unknown level %q (want all, info, warning or critical)", s)
}

func (l Level) rank() int {
	switch l {
	case LevelAll:
		return 0
	case LevelInfo:
		return 1
	case LevelCritical:
		return 3
	}
	return 2
}

// Due tells whether rep reaches l: a finding no suppression silences at
// l or above, or (for warning and below) a check that could not judge.
func Due(rep *diag.Report, l Level) bool {
	return len(Fingerprint(rep, l)) > 0 || l == LevelAll
}

// Fingerprint lists what makes rep due at l (finding IDs with their
// severity, checks that could not judge), sorted: a sweep repeated with
// --interval sends again only when it changes.
func Fingerprint(rep *diag.Report, l Level) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Suppressed == nil && f.Severity.Rank() >= max(l.rank(), 1) {
			out = append(out, string(f.Severity)+" "+f.ID)
		}
	}
	if l.rank() <= 2 {
		for _, c := range rep.Checks {
			if c.Status == diag.StatusError {
				out = append(out, "error "+c.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Options tune Send.
type Options struct {
	// Timeout bounds all targets together, retries included (0: 30s).
	Timeout time.Duration
	// Attempts per target (0: 3); the waits between them double from
	// Backoff (0: 1s), never past the deadline.
	Attempts int
	Backoff  time.Duration
	// SMTPPassword authenticates to SMTP servers (PLAIN or LOGIN, only
	// over TLS) with the URL's user name; DingTalkSecret signs DingTalk
	// robot calls (the robot's "加签" security setting).
	SMTPPassword   string
	DingTalkSecret string
}

// Result is what happened to one target.
type Result struct {
	Target   string // masked
	Attempts int
	Err      error // nil: delivered
}

// Send delivers rep to every target at once, each with its retries, and
// returns when all are done or the deadline passed. Errors never carry a
// target's secrets.
func Send(ctx context.Context, rep *diag.Report, targets []Target, opts Options) []Result {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	msg, err := newMessage(rep)
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i].Target = t.String()
		if err != nil {
			results[i].Err = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].Attempts, results[i].Err = deliver(ctx, t, msg, opts)
		}()
	}
	wg.Wait()
	return results
}

// permanent marks an error retrying cannot fix (a 4xx answer).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func deliver(ctx context.Context, t Target, m *message, opts Options) (int, error) {
	wait := opts.Backoff
	var err error
	for n := 1; ; n++ {
		switch t.Kind {
		case KindSMTP:
			err = sendMail(ctx, t, m, opts)
		default:
			err = postWebhook(ctx, t, m, opts)
		}
		if err == nil {
			return n, nil
		}
		err = scrub(err, t)
		var p permanent
		if n >= opts.Attempts || errors.As(err, &p) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, fmt.Errorf("%w (deadline passed before attempt %d)", err, n+1)
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// scrub removes the target's URL, path and query from an error's text,
// whatever library wrote it.
func scrub(err error, t Target) error {
	s := err.Error()
	clean := s
	for _, secret := range []string{t.URL.String(), t.URL.RawQuery, t.URL.EscapedPath(), t.URL.Path} {
		if secret != "" && secret != "/" {
			clean = strings.ReplaceAll(clean, secret, "[redacted]")
		}
	}
	if clean == s {
		return err
	}
	var p permanent
	if errors.As(err, &p) {
		return permanent{errors.New(clean)}
	}
	return errors.New(clean)
}
