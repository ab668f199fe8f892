package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"
)

// sendMail sends the message over SMTP with github.com/wneessen/go-mail:
// it does the MIME work (RFC 2047 encoded-word subjects, multipart with a
// base64 attachment, line lengths, dot-stuffing) and the SMTP dialogue
// (EHLO, STARTTLS, SASL mechanism discovery) that net/smtp leaves to its
// caller, and it is maintained. TLS is required either way: STARTTLS on
// smtp:// (the server must offer it), implicit TLS on smtps://. The
// server certificate is checked against the system roots (SSL_CERT_FILE
// and SSL_CERT_DIR add a private CA).
func sendMail(ctx context.Context, t Target, m *message, opts Options) error {
	msg := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingB64))
	if err := msg.From(t.From); err != nil {
		return permanent{fmt.Errorf("from %q: %w", t.From, err)}
	}
	if err := msg.To(t.To...); err != nil {
		return permanent{fmt.Errorf("to: %w", err)}
	}
	msg.Subject(m.subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader(mail.HeaderXMailer, "ksdoctor")
	msg.SetBodyString(mail.TypeTextPlain, string(m.markdown))
	name := "ksdoctor-report-" + fileSafe(m.host) + ".json"
	if err := msg.AttachReader(name, bytes.NewReader(m.json), mail.WithFileContentType(mail.ContentType("application/json"))); err != nil {
		return permanent{fmt.Errorf("attach the report: %w", err)}
	}

	// go-mail bounds each network read by its timeout, not by the
	// context: the timeout is what is left of the deadline.
	timeout := attemptTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	host := t.URL.Hostname()
	copts := []mail.Option{
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}),
	}
	port := 587
	if t.URL.Scheme == "smtps" {
		port = 465
		copts = append(copts, mail.WithSSL())
	} else {
		copts = append(copts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if p := t.URL.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return permanent{fmt.Errorf("port %q", p)}
		}
		port = n
	}
	copts = append(copts, mail.WithPort(port))
	if user := t.URL.User.Username(); user != "" {
		if opts.SMTPPassword == "" {
			return permanent{fmt.Errorf("user %q needs a password: KSDOCTOR_SMTP_PASSWORD or --notify-auth-file", user)}
		}
		copts = append(copts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(user), mail.WithPassword(opts.SMTPPassword))
	}
	c, err := mail.NewClient(host, copts...)
	if err != nil {
		return permanent{fmt.Errorf("smtp client: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileSafe makes a host name fit an attachment's file name.
func fileSafe(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	if s == "" || s == "_" {
		return "node"
	}
	return s
}
