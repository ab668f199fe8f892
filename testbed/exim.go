package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Exim is a real SMTP server (Debian's exim4-daemon-light) of the test's
// own, on 127.0.0.1: its configuration, spool, log and mailboxes in a
// directory of its own, two free ports (SMTP with STARTTLS, SMTPS with
// TLS on connect), a certificate signed by a test CA, and PLAIN/LOGIN
// authentication offered only over TLS. Mail to the local parts "oncall"
// and "ops" (any domain) is appended to Mailbox(local part), mbox format.
type Exim struct {
	Dir       string
	SMTPPort  int    // STARTTLS required before MAIL
	SMTPSPort int    // implicit TLS
	CAFile    string // PEM of the CA that signed the server's certificate
	User      string
	Password  string
	pid       int
}

// Mailbox is the mbox file mail to local part lp is appended to.
func (e *Exim) Mailbox(lp string) string { return filepath.Join(e.Dir, "mail", lp) }

// Log is exim's main log.
func (e *Exim) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "log", "mainlog"))
	return string(b)
}

// StartExim starts an exim daemon for the test, stopped (by its process
// group) and removed at cleanup. Exim drops to its own user (Debian-exim)
// for an alternative configuration, so everything it reads or writes is
// that user's.
func StartExim(t testing.TB) *Exim {
	t.Helper()
	Require(t, "exim4")
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		t.Fatalf("exim's user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "ksdoctor-exim-")
	if err != nil {
		t.Fatal(err)
	}
	started := false
	t.Cleanup(func() {
		if !started {
			os.RemoveAll(dir)
		}
	})
	// Exim's user must reach its files below the directory.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	e := &Exim{Dir: dir, User: "ksdoctor", Password: "pw-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	for _, d := range []string{"spool", "log", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.writePKI(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"spool", "log", "mail", "server.crt", "server.key"} {
		if err := os.Chown(filepath.Join(dir, p), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	e.SMTPPort, e.SMTPSPort = freePort(t), freePort(t)
	conf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(conf, []byte(e.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "daemon.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	exim, _ := lookPath("exim4")
	// -bdf: the daemon in the foreground, so its PID is ours to stop;
	// -q2s: a queue run every two seconds retries a deferred delivery.
	cmd := exec.Command(exim, "-C", conf, "-bdf", "-q2s")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start exim: %v", err)
	}
	e.pid = cmd.Process.Pid
	started = true
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The daemon and the processes it forked for connections and
		// deliveries (its process group), all gone before the directory
		// goes: a late one would write its log there again.
		syscall.Kill(-e.pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-e.pid, syscall.SIGKILL)
			<-done
		}
		for i := 0; syscall.Kill(-e.pid, 0) == nil; i++ {
			if i == 100 {
				syscall.Kill(-e.pid, syscall.SIGKILL)
			}
			if i > 200 {
				t.Errorf("exim's process group %d does not go away", e.pid)
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, port := range []int{e.SMTPPort, e.SMTPSPort} {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(filepath.Join(dir, "daemon.out"))
				t.Fatalf("exim does not listen on %d: %v\n%s\n%s", port, err, b, e.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return e
}

// config is exim's configuration. Only authenticated senders may relay,
// MAIL needs TLS, and AUTH is offered only on an encrypted connection.
func (e *Exim) config() string {
	d := e.Dir
	return fmt.Sprintf(`primary_hostname = ksdoctor-test.invalid
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
pid_file_path = %[1]s/exim.pid
daemon_smtp_ports = %[2]d : %[3]d
tls_on_connect_ports = %[3]d
local_interfaces = 127.0.0.1
tls_advertise_hosts = *
tls_certificate = %[1]s/server.crt
tls_privatekey = %[1]s/server.key
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
host_lookup =
keep_environment =
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt

begin acl
acl_mail:
  accept encrypted = *
  deny message = TLS required
acl_rcpt:
  accept authenticated = *
  deny message = authentication required

begin routers
local:
  driver = accept
  local_parts = oncall : ops
  transport = mbox

begin transports
mbox:
  driver = appendfile
  file = %[1]s/mail/${local_part_data}
  user = Debian-exim
  mode = 0600
  envelope_to_add
  return_path_add

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{%[4]s}}{eq{$auth3}{%[5]s}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{%[4]s}}{eq{$auth2}{%[5]s}}}}
  server_set_id = $auth1
`, d, e.SMTPPort, e.SMTPSPort, e.User, e.Password)
}

// writePKI writes ca.crt, server.crt and server.key (localhost, 127.0.0.1).
func (e *Exim) writePKI() error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "ksdoctor-testbed-smtp-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	e.CAFile = filepath.Join(e.Dir, "ca.crt")
	for name, data := range map[string][]byte{
		"ca.crt":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"server.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
	} {
		if err := os.WriteFile(filepath.Join(e.Dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// freePort is a TCP port on 127.0.0.1 nothing listens on right now.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitMail waits until the mailbox of lp holds n messages and returns it.
func (e *Exim) WaitMail(t testing.TB, lp string, n int, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		b, _ := os.ReadFile(e.Mailbox(lp))
		if strings.Count("\n"+string(b), "\nFrom ") >= n {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d message(s) for %s not delivered in %v\nlog:\n%s", n, lp, limit, e.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
