package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ClusterOptions configure StartClusterWith.
type ClusterOptions struct {
	// Address is the IP kube-apiserver binds and advertises (default
	// 127.0.0.1). A kubelet in a network namespace cannot reach the root
	// namespace's loopback: NewNodeNet gives an address on a veth it can.
	Address string
	// Kubelets turns on what real kubelets need: Node authorization, the
	// NodeRestriction admission plugin and a client certificate kube-apiserver
	// presents to the kubelets (pods/log, exec) at their InternalIP.
	Kubelets bool
}

// kubeletArgs are kube-apiserver's flags for ClusterOptions.Kubelets.
func (c *Cluster) kubeletArgs() []string {
	if !c.opts.Kubelets {
		return nil
	}
	f := func(name string) string { return filepath.Join(c.dir, name) }
	return []string{
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate=" + f("kubelet-client.crt"),
		"--kubelet-client-key=" + f("kubelet-client.key"),
		"--kubelet-preferred-address-types=InternalIP",
	}
}

// signer is the cluster CA.
type signer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue writes DIR/NAME.crt and NAME.key: a certificate for cn (groups as
// organizations) signed by the CA, for client or server use.
func (s signer) issue(dir, name, cn string, groups []string, ips []net.IP, server bool) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: groups},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IPAddresses:  ips,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.cert, &key.PublicKey, s.key)
	if err != nil {
		return fmt.Errorf("create %s certificate: %w", name, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal %s key: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// withFlags returns args with each --name=value of extra replacing the
// same flag of args, or appended.
func withFlags(args, extra []string) []string {
	out := append([]string(nil), args...)
	for _, e := range extra {
		name, _, _ := strings.Cut(e, "=")
		replaced := false
		for i, a := range out {
			if n, _, _ := strings.Cut(a, "="); n == name {
				out[i], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}
