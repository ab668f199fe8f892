package gather

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestNewKubeClientNoConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(home, "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := NewKubeClient(Options{}); !errors.Is(err, ErrNoKubeconfig) {
		t.Errorf("no config: %v, want ErrNoKubeconfig", err)
	}
	if _, err := NewKubeClient(Options{Kubeconfig: filepath.Join(home, "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing --kubeconfig: %v", err)
	}
	bad := filepath.Join(home, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Config\nclusters: [[["), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKubeClient(Options{Kubeconfig: bad}); err == nil {
		t.Error("unparseable kubeconfig accepted")
	}
	good := filepath.Join(home, "good.yaml")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
- name: b
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`
	if err := os.WriteFile(good, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := NewKubeClient(Options{Kubeconfig: good, KubeContext: "ctx-b"})
	if err != nil {
		t.Fatal(err)
	}
	if kc.Config.Host != "https://127.0.0.1:2" || kc.Context != "ctx-b" {
		t.Errorf("--context ignored: host %s context %s", kc.Config.Host, kc.Context)
	}
	if _, err := NewKubeClient(Options{Kubeconfig: good, KubeContext: "nope"}); err == nil {
		t.Error("unknown context accepted")
	}
}

func selfSigned(t testing.TB, names ...string) (crt, key []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), DNSNames: names}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestParseTLSSecretData(t *testing.T) {
	crt, key := selfSigned(t, "a.test", "*.b.test")
	_, otherKey := selfSigned(t, "c.test")
	cases := []struct {
		name           string
		crt, key       []byte
		err, keyErr    string
		wantCerts      int
		wantFirstNames []string
	}{
		{name: "ok", crt: crt, key: key, wantCerts: 1, wantFirstNames: []string{"a.test", "*.b.test"}},
		{name: "empty", err: "empty"},
		{name: "garbage", crt: []byte("not pem"), key: key, err: "no PEM certificate"},
		{name: "bad der", crt: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), err: "does not parse"},
		{name: "no key", crt: crt, keyErr: "tls.key is empty", wantCerts: 1},
		{name: "other key", crt: crt, key: otherKey, keyErr: "does not match", wantCerts: 1},
		{name: "chain", crt: append(slices.Clone(crt), crt...), key: key, wantCerts: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &diag.TLSSecretFacts{}
			ParseTLSSecretData(s, c.crt, c.key)
			if c.err == "" && s.Error != "" || c.err != "" && !strings.Contains(s.Error, c.err) {
				t.Errorf("error %q, want %q", s.Error, c.err)
			}
			if c.keyErr == "" && s.KeyError != "" || c.keyErr != "" && !strings.Contains(s.KeyError, c.keyErr) {
				t.Errorf("key error %q, want %q", s.KeyError, c.keyErr)
			}
			if len(s.Certs) != c.wantCerts {
				t.Errorf("%d certs, want %d", len(s.Certs), c.wantCerts)
			}
			if c.wantFirstNames != nil && !slices.Equal(s.Leaf().DNSNames, c.wantFirstNames) {
				t.Errorf("names %v", s.Leaf().DNSNames)
			}
			noKeyMaterial(t, s, key, otherKey)
		})
	}
}

// noKeyMaterial fails when any private-key bytes reach the facts.
func noKeyMaterial(t testing.TB, s *diag.TLSSecretFacts, keys ...[]byte) {
	t.Helper()
	out, _ := json.Marshal(s)
	if bytes.Contains(out, []byte("PRIVATE")) {
		t.Fatalf("facts mention a private key: %s", out)
	}
	for _, k := range keys {
		if b, _ := pem.Decode(k); b != nil && len(b.Bytes) > 16 && bytes.Contains(out, b.Bytes[8:24]) {
			t.Fatalf("facts hold key bytes")
		}
	}
}

func FuzzParseTLSSecretData(f *testing.F) {
	crt, key := selfSigned(f, "fuzz.test")
	f.Add(crt, key)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte{})
	f.Add([]byte{}, key)
	f.Fuzz(func(t *testing.T, crt, key []byte) {
		s := &diag.TLSSecretFacts{}
		ParseTLSSecretData(s, crt, key)
		if s.Error == "" && len(s.Certs) == 0 {
			t.Fatal("no certificate and no error")
		}
		// Judge only key material: the body of a PEM block, or a key of
		// 32 bytes or more. A one-byte key ("a") is in any sentence.
		msg := []byte(s.Error + s.KeyError)
		if b, _ := pem.Decode(key); b != nil && len(b.Bytes) >= 16 {
			body := base64.StdEncoding.EncodeToString(b.Bytes)
			if bytes.Contains(msg, b.Bytes) || bytes.Contains(msg, []byte(body[:16])) {
				t.Fatal("error quotes the key's body")
			}
		} else if len(key) >= 32 && bytes.Contains(msg, key) {
			t.Fatal("error quotes the key")
		}
	})
}

func TestCascImages(t *testing.T) {
	data := map[string]string{
		"a.yaml": "containers:\n  - name: base\n    image: \"kubesphere/builder-base:v3.2.2\"\n  - image: 'jenkins/inbound-agent:4.10-2' # jnlp\n",
		"b.yaml": "image: kubesphere/builder-base:v3.2.2\nimagePullPolicy: Always\nnotimage: x\n",
	}
	got := CascImages(data)
	want := []string{"jenkins/inbound-agent:4.10-2", "kubesphere/builder-base:v3.2.2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func FuzzCascImages(f *testing.F) {
	f.Add("image: a/b:c\n")
	f.Add("- image: \"x\"\n  image: 'y'")
	f.Add("image:\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, img := range CascImages(map[string]string{"k": s}) {
			if img == "" || strings.ContainsAny(img, " \t\n\"'") {
				t.Fatalf("bad image %q", img)
			}
		}
	})
}
