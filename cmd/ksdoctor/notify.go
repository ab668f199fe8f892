package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/notify"
	"github.com/ksdoctor/ksdoctor/redact"
)

// Environment variables holding notification secrets: never flags, which
// any user on the node sees in argv.
const (
	envSMTPPassword   = "KSDOCTOR_SMTP_PASSWORD"
	envDingTalkSecret = "KSDOCTOR_DINGTALK_SECRET"
)

type notifyFlags struct {
	urls     []string
	format   string
	min      string
	authFile string
	timeout  time.Duration

	targets []notify.Target
	level   notify.Level
	opts    notify.Options
	last    []string // what the last message was about (--interval)
	sent    bool
}

func addNotifyFlags(cmd *cobra.Command, n *notifyFlags) {
	fl := cmd.Flags()
	fl.StringArrayVar(&n.urls, "notify", nil, "send the report, once per sweep, to URL (repeatable): smtp://[user@]host[:587]?from=A&to=B (STARTTLS), smtps://… (TLS, 465), https://… (webhook); env:NAME reads the URL from $NAME")
	fl.StringVar(&n.format, "notify-format", "auto", "webhook payload: auto (by host: Slack, DingTalk, WeCom, else generic), generic, slack, dingtalk or wecom")
	fl.StringVar(&n.min, "notify-min", "warning", "send only when the sweep shows this or worse: all, info, warning (a check that could not judge counts) or critical")
	fl.StringVar(&n.authFile, "notify-auth-file", "", "file holding the SMTP password (else $"+envSMTPPassword+"); never on the command line")
	fl.DurationVar(&n.timeout, "notify-timeout", 30*time.Second, "deadline for sending, retries included; the report is written first")
}

// prepare checks the flags and reads the secrets before the sweep, so a
// typo fails at once rather than after a sweep nobody hears about.
func (n *notifyFlags) prepare() error {
	if len(n.urls) == 0 {
		return nil
	}
	format, err := notify.ParseFormat(n.format)
	if err != nil {
		return fail(exitCannot, "use --notify-format auto, generic, slack, dingtalk or wecom", "%v", err)
	}
	if n.level, err = notify.ParseLevel(n.min); err != nil {
		return fail(exitCannot, "use --notify-min all, info, warning or critical", "%v", err)
	}
	if n.timeout <= 0 {
		return fail(exitCannot, "pass a positive --notify-timeout, e.g. 30s", "--notify-timeout %v", n.timeout)
	}
	n.targets = nil
	for _, raw := range n.urls {
		if name, ok := strings.CutPrefix(raw, "env:"); ok {
			if raw = os.Getenv(name); raw == "" {
				return fail(exitCannot, "set the variable to the URL, e.g. from a Kubernetes Secret", "--notify env:%s: the variable is empty or unset", name)
			}
		}
		t, err := notify.ParseTarget(raw, format)
		if err != nil {
			return fail(exitCannot, "e.g. --notify 'smtps://ksdoctor@mail.example.com?from=ksdoctor@example.com&to=oncall@example.com' or --notify env:SLACK_WEBHOOK_URL", "--notify: %v", err)
		}
		n.targets = append(n.targets, t)
	}
	n.opts = notify.Options{Timeout: n.timeout, DingTalkSecret: os.Getenv(envDingTalkSecret), SMTPPassword: os.Getenv(envSMTPPassword)}
	if n.authFile != "" {
		pw, err := readSecretFile(n.authFile)
		if err != nil {
			return fail(exitCannot, "--notify-auth-file takes a file holding the SMTP password alone (a Secret mounted as a file)", "%v", err)
		}
		n.opts.SMTPPassword = pw
	}
	return nil
}

// readSecretFile reads a small file holding one secret; a final newline
// is not part of it.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("notify auth file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", fmt.Errorf("notify auth file: %w", err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("notify auth file %s: over 4 KiB, not a password", path)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("notify auth file %s is empty", path)
	}
	return s, nil
}

// send delivers rep when it reaches --notify-min (and, in a loop, when
// what it shows changed since the last message), after the report was
// written. Its failure is reported on stderr and does not change the
// sweep's exit code: the report stands on its own.
func (n *notifyFlags) send(ctx context.Context, io streams, rep *diag.Report) {
	if len(n.targets) == 0 {
		return
	}
	fp := notify.Fingerprint(rep, n.level)
	if !notify.Due(rep, n.level) {
		n.last, n.sent = fp, true
		return
	}
	if n.sent && slices.Equal(fp, n.last) && n.level != notify.LevelAll {
		return // the same findings as the last message
	}
	n.last, n.sent = fp, true
	start := time.Now()
	for _, r := range notify.Send(ctx, rep, n.targets, n.opts) {
		if r.Err != nil {
			fmt.Fprintf(io.err, "ksdoctor: warning: notify %s failed after %d attempt(s) in %v: %s\n",
				r.Target, r.Attempts, time.Since(start).Round(time.Millisecond), redact.Text(r.Err.Error()))
			continue
		}
		fmt.Fprintf(io.err, "ksdoctor: notified %s\n", r.Target)
	}
}
