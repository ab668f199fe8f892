package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// plantedSecret is in the node's facts; no message may carry it.
const plantedSecret = "hunter2-planted"

// notifySnapshot is fixtures/disk-full with a UTF-8 host name (an
// encoded-word subject) and a password in a container's name.
func notifySnapshot(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(fixture("disk-full"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `"hostname": "node4"`, `"hostname": "节点-4"`, 1)
	s = strings.Replace(s, `"name": "jenkins-agent-old"`, `"name": "jenkins-agent-old --password=`+plantedSecret+`"`, 1)
	if s == string(data) {
		t.Fatal("fixture changed: nothing replaced")
	}
	p := filepath.Join(t.TempDir(), "snapshot.json")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readMessage parses the only message in an mbox: its header, the text
// body and the attachments, decoded.
func readMessage(t *testing.T, mbox string) (mail.Header, string, map[string][]byte, map[string]string) {
	t.Helper()
	_, msg, ok := strings.Cut(mbox, "\n") // the "From " line
	if !ok {
		t.Fatalf("mbox %q", mbox)
	}
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	var body string
	files, types := map[string][]byte{}, map[string]string{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(p)
		data := raw
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			if data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r", ""), "\n", "")); err != nil {
				t.Fatalf("part not base64: %v", err)
			}
		}
		if d, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); d == "attachment" {
			files[dp["filename"]] = data
			types[dp["filename"]] = p.Header.Get("Content-Type")
			continue
		}
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
			t.Errorf("body Content-Type %q: want text/plain; charset=UTF-8", ct)
		}
		body = string(data)
	}
	return m.Header, body, files, types
}

// TestNotifySMTPExim: the report mailed to a real exim over STARTTLS (587
// style) and over implicit TLS (465 style), authenticated with the
// password from the environment and from a file, checked against the test
// CA; read back from exim's mailbox: the subject an RFC 2047 encoded
// word, the Markdown body and the JSON report attached and valid, nothing
// secret anywhere. A wrong password and an unknown CA fail, reported,
// with the report and exit code untouched.
func TestNotifySMTPExim(t *testing.T) {
	e := testbed.StartExim(t)
	snap := notifySnapshot(t)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	os.WriteFile(pwFile, []byte(e.Password+"\n"), 0o600)
	to := "?from=ksdoctor@ksdoctor-test.invalid&to=oncall@ksdoctor-test.invalid"
	starttls := "smtp://" + e.User + "@localhost:" + strconv.Itoa(e.SMTPPort) + to
	implicit := "smtps://" + e.User + "@127.0.0.1:" + strconv.Itoa(e.SMTPSPort) + to
	env := []string{"SSL_CERT_FILE=" + e.CAFile}

	r := runEnv(t, []string{bin, "sweep", "--from", snap, "--format", "json", "--notify", starttls},
		append(env, "KSDOCTOR_SMTP_PASSWORD="+e.Password), time.Minute)
	r.wantCode(t, exitCritical)
	decodeReport(t, []byte(r.stdout))
	if !strings.Contains(r.stderr, "ksdoctor: notified smtp://") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	mbox := e.WaitMail(t, "oncall", 1, 20*time.Second)
	if !strings.Contains(e.Log(), "A=") || !strings.Contains(e.Log(), "X=TLS") {
		t.Errorf("exim did not log an authenticated TLS session:\n%s", e.Log())
	}
	hdr, body, files, types := readMessage(t, mbox)
	rawSubj := hdr.Get("Subject")
	subj, err := new(mime.WordDecoder).DecodeHeader(rawSubj)
	if !strings.HasPrefix(rawSubj, "=?UTF-8?") || err != nil || subj != "[ksdoctor] 节点-4: 1 critical, 1 warning" {
		t.Errorf("Subject %q decodes to %q (%v)", rawSubj, subj, err)
	}
	if !strings.Contains(body, "# ksdoctor report: 节点-4") || !strings.Contains(body, "Docker data-root filesystem / is 93 % full") {
		t.Errorf("body is not the Markdown report:\n%s", body)
	}
	js, ok := files["ksdoctor-report-_-4.json"]
	if !ok || !strings.HasPrefix(types["ksdoctor-report-_-4.json"], "application/json") {
		t.Fatalf("attachments %v", types)
	}
	if err := schemacheck.ValidateJSON(js); err != nil {
		t.Errorf("attached report: %v", err)
	}
	for what, s := range map[string]string{"mailbox": mbox, "body": body, "report": string(js), "stderr": r.stderr} {
		if strings.Contains(s, plantedSecret) || strings.Contains(s, e.Password) {
			t.Errorf("%s carries a secret", what)
		}
	}
	if !strings.Contains(string(js), "--password=[redacted]") {
		t.Errorf("the attached report is not the redacted one")
	}

	r = runEnv(t, []string{bin, "sweep", "--from", snap, "--notify", implicit, "--notify-auth-file", pwFile}, env, time.Minute)
	r.wantCode(t, exitCritical)
	e.WaitMail(t, "oncall", 2, 20*time.Second)

	// Failures: a wrong password, then a server certificate nobody trusts.
	start := time.Now()
	r = runEnv(t, []string{bin, "sweep", "--from", snap, "--format", "json", "--notify", implicit, "--notify-timeout", "8s"},
		append(env, "KSDOCTOR_SMTP_PASSWORD=wrong-"+e.Password), time.Minute)
	r.wantCode(t, exitCritical)
	decodeReport(t, []byte(r.stdout))
	if !strings.Contains(r.stderr, "ksdoctor: warning: notify smtps://") || strings.Contains(r.stderr, "wrong-"+e.Password) || time.Since(start) > 15*time.Second {
		t.Errorf("wrong password: after %v, stderr: %s", time.Since(start), r.stderr)
	}
	r = runEnv(t, []string{bin, "sweep", "--from", snap, "--notify", starttls, "--notify-timeout", "5s"},
		[]string{"KSDOCTOR_SMTP_PASSWORD=" + e.Password, "SSL_CERT_FILE=/nonexistent"}, time.Minute)
	r.wantCode(t, exitCritical)
	if !strings.Contains(r.stderr, "notify smtp://") || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted certificate: stderr: %s", r.stderr)
	}
	if b, _ := os.ReadFile(e.Mailbox("oncall")); strings.Count("\n"+string(b), "\nFrom ") != 2 {
		t.Errorf("a failed attempt delivered mail")
	}
}

// receiver is an HTTPS webhook endpoint: each request is recorded and
// answered by reply (by attempt number, from 1).
type receiver struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	bodies [][]byte
	urls   []string
	n      atomic.Int32
}

func newReceiver(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		rc.urls = append(rc.urls, r.URL.String())
		rc.mu.Unlock()
		reply(int(rc.n.Add(1)), w, r)
	}))
	t.Cleanup(rc.srv.Close)
	rc.caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(rc.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw}), 0o600)
	return rc
}

func (rc *receiver) body(t *testing.T, i int) map[string]any {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var v map[string]any
	if err := json.Unmarshal(rc.bodies[i], &v); err != nil {
		t.Fatalf("payload not JSON: %v\n%s", err, rc.bodies[i])
	}
	return v
}

func robotOK(_ int, w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
}

// TestNotifyWebhookShapes: one sweep, each shape to its own HTTPS
// receiver, tokens in the URL as the services put them; DingTalk signed.
func TestNotifyWebhookShapes(t *testing.T) {
	snap := notifySnapshot(t)
	const dingSecret = "SECdingtalk-test-secret"
	generic := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	slack := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	ding := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		ts := r.URL.Query().Get("timestamp")
		mac := hmac.New(sha256.New, []byte(dingSecret))
		mac.Write([]byte(ts + "\n" + dingSecret))
		if r.URL.Query().Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
		robotOK(0, w, r)
	})
	wecom := newReceiver(t, robotOK)
	cas := bytes.Join([][]byte{read(t, generic.caFile), read(t, slack.caFile), read(t, ding.caFile), read(t, wecom.caFile)}, nil)
	caFile := filepath.Join(t.TempDir(), "cas.pem")
	os.WriteFile(caFile, cas, 0o600)

	// Each receiver gets its format through env: URLs, as from a Secret.
	env := []string{"SSL_CERT_FILE=" + caFile, "KSDOCTOR_DINGTALK_SECRET=" + dingSecret,
		"GENERIC_URL=" + generic.srv.URL + "/hooks/ksdoctor?token=generic-token"}
	for _, c := range []struct {
		rc     *receiver
		format string
		url    string
	}{
		{generic, "generic", "env:GENERIC_URL"},
		{slack, "slack", slack.srv.URL + "/services/T000/B000/slack-token"},
		{ding, "dingtalk", ding.srv.URL + "/robot/send?access_token=ding-token"},
		{wecom, "wecom", wecom.srv.URL + "/cgi-bin/webhook/send?key=wecom-token"},
	} {
		r := runEnv(t, []string{bin, "sweep", "--from", snap, "--format", "json", "--notify-format", c.format, "--notify", c.url}, env, time.Minute)
		r.wantCode(t, exitCritical)
		if c.rc.n.Load() != 1 || !strings.Contains(r.stderr, "ksdoctor: notified https://127.0.0.1:") {
			t.Fatalf("%s: %d requests, stderr: %s", c.format, c.rc.n.Load(), r.stderr)
		}
		for _, tok := range []string{"generic-token", "slack-token", "ding-token", "wecom-token", dingSecret} {
			if strings.Contains(r.stderr, tok) {
				t.Errorf("%s: stderr shows %s", c.format, tok)
			}
		}
		if bytes.Contains(c.rc.bodies[0], []byte(plantedSecret)) {
			t.Errorf("%s: payload carries the planted secret", c.format)
		}
	}

	g := generic.body(t, 0)
	rep, _ := json.Marshal(g["report"])
	if err := schemacheck.ValidateJSON(rep); err != nil || g["host"] != "节点-4" || g["worst"] != "critical" || g["source"] != "ksdoctor" {
		t.Errorf("generic payload: host %v worst %v source %v, report: %v", g["host"], g["worst"], g["source"], err)
	}
	if text, _ := slack.body(t, 0)["text"].(string); !strings.HasPrefix(text, "*[ksdoctor] 节点-4: 1 critical, 1 warning*") || !strings.Contains(text, "- *critical* `disk.docker-root-usage`") {
		t.Errorf("slack text %q", text)
	}
	d := ding.body(t, 0)
	md, _ := d["markdown"].(map[string]any)
	if d["msgtype"] != "markdown" || md["title"] != "[ksdoctor] 节点-4: 1 critical, 1 warning" || !strings.Contains(md["text"].(string), "`disk.docker-root-usage`") {
		t.Errorf("dingtalk payload %v", d)
	}
	w := wecom.body(t, 0)
	wmd, _ := w["markdown"].(map[string]any)
	content, _ := wmd["content"].(string)
	if w["msgtype"] != "markdown" || len(content) > 4096 || !strings.Contains(content, "**critical** `disk.docker-root-usage`") {
		t.Errorf("wecom payload %v", w)
	}
}

func read(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNotifyRetries: a receiver that fails twice (HTTP 500, then a robot
// errcode) gets the third attempt; a 4xx is not retried; --notify-min
// critical stays silent on a sweep with warnings only.
func TestNotifyRetries(t *testing.T) {
	snap := notifySnapshot(t)
	flaky := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			io.WriteString(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
		default:
			robotOK(n, w, r)
		}
	})
	r := runEnv(t, []string{bin, "sweep", "--from", snap, "--notify-format", "wecom", "--notify", flaky.srv.URL + "/send?key=k1"},
		[]string{"SSL_CERT_FILE=" + flaky.caFile}, time.Minute)
	r.wantCode(t, exitCritical)
	if flaky.n.Load() != 3 || !strings.Contains(r.stderr, "notified") {
		t.Errorf("%d attempts, stderr: %s", flaky.n.Load(), r.stderr)
	}

	gone := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	r = runEnv(t, []string{bin, "sweep", "--from", snap, "--notify", gone.srv.URL + "/hook?token=k2"},
		[]string{"SSL_CERT_FILE=" + gone.caFile}, time.Minute)
	if gone.n.Load() != 1 || !strings.Contains(r.stderr, "failed after 1 attempt(s)") || !strings.Contains(r.stderr, "404") {
		t.Errorf("404: %d attempts, stderr: %s", gone.n.Load(), r.stderr)
	}

	quiet := newReceiver(t, robotOK)
	r = runEnv(t, []string{bin, "sweep", "--from", fixture("exited-containers"), "--notify-min", "critical", "--notify", quiet.srv.URL + "/x"},
		[]string{"SSL_CERT_FILE=" + quiet.caFile}, time.Minute)
	if r.code != exitWarning || quiet.n.Load() != 0 {
		t.Errorf("--notify-min critical on a warning: code %d, %d requests", r.code, quiet.n.Load())
	}
}

// TestNotifyHangingReceiver: a webhook that never answers and an SMTP
// server that never greets. The report is
// written first and complete, the sweep ends within --notify-timeout with
// the sweep's exit code, and the failure is on stderr without the token.
func TestNotifyHangingReceiver(t *testing.T) {
	release := make(chan struct{})
	hang := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	// An SMTP server that accepts and never greets.
	mute := hangingTCP(t)
	out := filepath.Join(t.TempDir(), "report.json")
	start := time.Now()
	r := runEnv(t, []string{bin, "sweep", "--from", notifySnapshot(t), "--format", "json", "--output", out,
		"--notify", hang.srv.URL + "/hook?token=hang-token", "--notify", "smtp://" + mute + "?from=a@example.com&to=b@example.com",
		"--notify-timeout", "3s"},
		[]string{"SSL_CERT_FILE=" + hang.caFile}, time.Minute)
	took := time.Since(start)
	r.wantCode(t, exitCritical)
	decodeReport(t, read(t, out))
	if took > 6*time.Second || !strings.Contains(r.stderr, "ksdoctor: warning: notify https://127.0.0.1:") ||
		!strings.Contains(r.stderr, "ksdoctor: warning: notify smtp://"+mute) || strings.Contains(r.stderr, "hang-token") {
		t.Errorf("after %v, stderr: %s", took, r.stderr)
	}
}

// hangingTCP is a TCP address on 127.0.0.1 that accepts and stays silent.
func hangingTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hungListener(t, l)
	return l.Addr().String()
}

// TestNotifyFlags: mistakes fail before the sweep, secrets in argv are
// refused and never echoed.
func TestNotifyFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--notify", "smtp://u:topsecret@mail.example.com?from=a@b&to=c@d"}, "password in the URL"},
		{[]string{"--notify", "smtp://mail.example.com"}, "name the sender and recipients in the query"},
		{[]string{"--notify", "http://hooks.example.com/x?token=topsecret"}, `scheme "http"`},
		{[]string{"--notify", "env:KSDOCTOR_TEST_UNSET_VAR"}, "empty or unset"},
		{[]string{"--notify", "https://h.example.com/x", "--notify-min", "loud"}, "unknown level"},
		{[]string{"--notify", "https://h.example.com/x", "--notify-format", "teams"}, "unknown notify format"},
		{[]string{"--notify", "smtps://u@h.example.com?from=a@b&to=c@d", "--notify-auth-file", "/nonexistent"}, "notify auth file"},
	} {
		r := ksd(t, append([]string{"sweep", "--from", fixture("healthy")}, c.args...)...)
		if r.code != exitCannot || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "topsecret") || r.stdout != "" {
			t.Errorf("%q: code %d stdout %q stderr %s", c.args, r.code, r.stdout, r.stderr)
		}
	}
}
