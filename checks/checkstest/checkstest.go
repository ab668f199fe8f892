// Package checkstest holds what the tests of package checks and of the
// packages that run checks (doctor) share: a finding's evidence as text
// and self-signed certificates. Tests only.
package checkstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// EvidenceText is f's evidence as lines "label: value", each table row
// after its label as cells joined by " | ".
func EvidenceText(f diag.Finding) string {
	var b strings.Builder
	for _, e := range f.Evidence {
		b.WriteString(e.Label + ": " + e.Value + "\n")
		if e.Table != nil {
			for _, r := range e.Table.Rows {
				b.WriteString(strings.Join(r, " | ") + "\n")
			}
		}
	}
	return b.String()
}

// CertPEM makes a self-signed server certificate for names (the first is
// the common name) valid from nb to na, and returns it and its EC private
// key, PEM-encoded.
func CertPEM(t testing.TB, nb, na time.Time, names ...string) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"ksdt"}},
		NotBefore:    nb,
		NotAfter:     na,
		DNSNames:     names,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
