package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// EnvAPIServer names the environment variable that overrides the kube-apiserver binary.
	EnvAPIServer = "KSDOCTOR_KUBE_APISERVER"
	// EnvEtcd names the environment variable that overrides the etcd binary.
	EnvEtcd = "KSDOCTOR_ETCD"
	// DefaultAPIServer is where `make kube-apiserver-bin` puts the binary.
	DefaultAPIServer = "/var/cache/ksdoctor-test/bin/kube-apiserver"
	// DefaultEtcd is where `make etcd-bin` puts etcd 3.6 (testbed/etcd).
	DefaultEtcd = "/var/cache/ksdoctor-test/bin/etcd"

	// ContextName is the context (and cluster) name in kubeconfigs from WriteKubeconfig.
	ContextName = "ksdt"

	// Identities with a static token.
	Admin  = "admin"
	Reader = "reader"
	Fixer  = "fixer"

	etcdReadyTimeout      = 30 * time.Second
	apiserverReadyTimeout = 90 * time.Second
	stopGrace             = 10 * time.Second
	startAttempts         = 3 // a free port can be taken between probing and binding
)

// Cluster is a running etcd + kube-apiserver pair.
type Cluster struct {
	Server string            // https://127.0.0.1:PORT
	CAFile string            // PEM CA that signed the serving certificate
	Tokens map[string]string // identity -> bearer token

	// ReadyAfter is how long kube-apiserver took from launch to a 200 on /readyz.
	ReadyAfter time.Duration

	dir     string // certificates, token file, logs
	etcdDir string // etcd data
	caPEM   []byte
	ca      signer         // signs node and kubelet-client certificates
	opts    ClusterOptions // how it was started
	etcd    *process
	api     *process
}

// Binaries returns the kube-apiserver and etcd paths the package will use.
func Binaries() (apiserver, etcd string) {
	apiserver = os.Getenv(EnvAPIServer)
	if apiserver == "" {
		apiserver = DefaultAPIServer
	}
	etcd = os.Getenv(EnvEtcd)
	if etcd == "" {
		etcd = DefaultEtcd
	}
	return apiserver, etcd
}

// Available reports why a cluster cannot be started here, or nil if it can.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("real-cluster tests need root")
	}
	apiserver, etcd := Binaries()
	for _, bin := range []struct{ path, hint string }{
		{apiserver, "run `make kube-apiserver-bin` or set " + EnvAPIServer},
		{etcd, "run make etcd-bin (testbed/etcd/build.sh) or set " + EnvEtcd},
	} {
		fi, err := os.Stat(bin.path)
		if err != nil {
			return fmt.Errorf("binary missing (%s): %w", bin.hint, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", bin.path)
		}
	}
	return nil
}

// Require skips the test when a cluster cannot be started here (not root, binaries
// missing), except under CI=true, where it fails instead so the suite cannot go green
// by skipping everything.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("kube testbed unavailable under CI=true: %v", err)
	}
	t.Skipf("kube testbed unavailable: %v", err)
}

// Start calls Require, starts a cluster and stops it in t.Cleanup.
func Start(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*apiserverReadyTimeout)
	defer cancel()
	c, err := StartCluster(ctx)
	if err != nil {
		t.Fatalf("start kube testbed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube testbed logs (tails):\n%s", c.Logs(8192))
		}
		api, etcd := c.PeakRSS()
		t.Logf("kube testbed: peak RSS kube-apiserver %d MiB, etcd %d MiB", api>>20, etcd>>20)
		if err := c.Stop(); err != nil {
			t.Errorf("stop kube testbed: %v", err)
		}
	})
	t.Logf("kube testbed: %s ready after %s (etcd pid %d, kube-apiserver pid %d)",
		c.Server, c.ReadyAfter.Round(time.Millisecond), c.etcd.pid(), c.api.pid())
	return c
}

// StartCluster starts etcd and kube-apiserver and waits until /readyz answers 200 (or
// ctx ends). The caller must call Stop. Use Start in tests.
func StartCluster(ctx context.Context) (c *Cluster, err error) {
	return StartClusterWith(ctx, ClusterOptions{})
}

// StartClusterWith is StartCluster with options (an address kubelets in
// network namespaces can reach, Node authorization).
func StartClusterWith(ctx context.Context, opts ClusterOptions) (c *Cluster, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	apiserverBin, etcdBin := Binaries()
	if opts.Address == "" {
		opts.Address = "127.0.0.1"
	}
	c = &Cluster{opts: opts}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			c = nil
		}
	}()
	if c.dir, err = os.MkdirTemp("", "ksdoctor-kube-"); err != nil {
		return c, fmt.Errorf("create cluster dir: %w", err)
	}
	if c.etcdDir, err = os.MkdirTemp("", "ksdoctor-etcd-"); err != nil {
		return c, fmt.Errorf("create etcd data dir: %w", err)
	}
	if err = c.writePKI(); err != nil {
		return c, err
	}

	var etcdURL string
	for attempt := 1; ; attempt++ {
		etcdURL, err = c.startEtcd(ctx, etcdBin)
		if err == nil || attempt == startAttempts || ctx.Err() != nil || !errors.Is(err, errExited) {
			break
		}
	}
	if err != nil {
		return c, err
	}
	for attempt := 1; ; attempt++ {
		err = c.startAPIServer(ctx, apiserverBin, etcdURL)
		if err == nil || attempt == startAttempts || ctx.Err() != nil || !errors.Is(err, errExited) {
			break
		}
	}
	return c, err
}

func (c *Cluster) startEtcd(ctx context.Context, bin string) (string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	// A previous failed attempt may have left a half-initialised member.
	if err := os.RemoveAll(filepath.Join(c.etcdDir, "member")); err != nil {
		return "", fmt.Errorf("reset etcd data dir: %w", err)
	}
	args := []string{
		"--name=ksdt",
		"--data-dir=" + c.etcdDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=ksdt=" + peer,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-outputs=stderr",
		"--log-level=warn",
	}
	p, err := startProcess(bin, args, filepath.Join(c.dir, "etcd.log"))
	if err != nil {
		return "", err
	}
	c.etcd = p
	hc := &http.Client{Timeout: 2 * time.Second}
	_, err = waitReady(ctx, p, etcdReadyTimeout, func() (bool, error) {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(buf.String(), `"true"`), nil
	})
	if err != nil {
		stopErr := p.stop(stopGrace)
		c.etcd = nil
		return "", errors.Join(fmt.Errorf("etcd on %s: %w", client, err), stopErr)
	}
	return client, nil
}

func (c *Cluster) startAPIServer(ctx context.Context, bin, etcdURL string) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	c.Server = fmt.Sprintf("https://%s:%d", c.opts.Address, ports[0])
	f := func(name string) string { return filepath.Join(c.dir, name) }
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + c.opts.Address,
		"--advertise-address=" + c.opts.Address,
		fmt.Sprintf("--secure-port=%d", ports[0]),
		"--cert-dir=" + f("certs"),
		"--tls-cert-file=" + f("serving.crt"),
		"--tls-private-key-file=" + f("serving.key"),
		"--client-ca-file=" + f("ca.crt"),
		"--token-auth-file=" + f("tokens.csv"),
		"--service-account-key-file=" + f("sa.pub"),
		"--service-account-signing-key-file=" + f("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		// No controller manager: nothing would ever create the default service account.
		"--disable-admission-plugins=ServiceAccount",
		// 127.0.0.1 cannot be the endpoint of the kubernetes service.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	}
	args = withFlags(args, c.kubeletArgs())
	p, err := startProcess(bin, args, f("kube-apiserver.log"))
	if err != nil {
		return err
	}
	c.api = p
	hc, err := c.httpClient(Admin)
	if err != nil {
		return err
	}
	readyz := c.Server + "/readyz"
	c.ReadyAfter, err = waitReady(ctx, p, apiserverReadyTimeout, func() (bool, error) {
		resp, err := hc.Get(readyz)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		stopErr := p.stop(stopGrace)
		c.api = nil
		return errors.Join(fmt.Errorf("kube-apiserver on %s: %w", c.Server, err), stopErr)
	}
	return nil
}

// httpClient is a plain HTTP client that trusts the cluster CA and sends identity's token.
func (c *Cluster) httpClient(identity string) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.caPEM) {
		return nil, errors.New("parse generated CA certificate")
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &bearer{token: c.Tokens[identity], next: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}},
	}, nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Stop stops kube-apiserver, then etcd (SIGTERM, then SIGKILL after a grace period),
// by PID, and removes the cluster's directories. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	if c.api != nil {
		errs = append(errs, c.api.stop(stopGrace))
		c.api = nil
	}
	if c.etcd != nil {
		errs = append(errs, c.etcd.stop(stopGrace))
		c.etcd = nil
	}
	for _, d := range []string{c.etcdDir, c.dir} {
		if d == "" {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	c.etcdDir, c.dir = "", ""
	return errors.Join(errs...)
}

// PIDs returns the process IDs of kube-apiserver and etcd (0 when not running).
func (c *Cluster) PIDs() (apiserver, etcd int) {
	return c.api.pid(), c.etcd.pid()
}

// PeakRSS returns the peak resident memory (VmHWM) in bytes of kube-apiserver and etcd
// so far (0 when not running or unknown).
func (c *Cluster) PeakRSS() (apiserver, etcd int64) {
	return peakRSS(c.api.pid()), peakRSS(c.etcd.pid())
}

// Identities returns the identity names with a token, sorted.
func (c *Cluster) Identities() []string {
	ids := make([]string, 0, len(c.Tokens))
	for id := range c.Tokens {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (c *Cluster) token(identity string) string {
	tok, ok := c.Tokens[identity]
	if !ok {
		panic(fmt.Sprintf("kube testbed: unknown identity %q (have %v)", identity, c.Identities()))
	}
	return tok
}

// RESTConfig returns a client config for identity ("admin", "reader", "fixer"). Client-side
// rate limiting is off (QPS -1) so bulk setup is not throttled to client-go's default 5 QPS.
// It panics on an unknown identity.
func (c *Cluster) RESTConfig(identity string) *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.token(identity),
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caPEM...)},
		QPS:             -1,
		Timeout:         30 * time.Second,
		UserAgent:       "ksdoctor-testbed/" + identity,
	}
}

// Clientset returns a typed client for identity.
func (c *Cluster) Clientset(t testing.TB, identity string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig(identity))
	if err != nil {
		t.Fatalf("clientset for %s: %v", identity, err)
	}
	return cs
}

// Kubeconfig returns a kubeconfig for identity with one cluster, user and context, all
// named "ksdt" (the user is named after the identity); the CA is embedded.
func (c *Cluster) Kubeconfig(identity string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{
		Server:                   c.Server,
		CertificateAuthorityData: append([]byte(nil), c.caPEM...),
	}
	cfg.AuthInfos[identity] = &clientcmdapi.AuthInfo{Token: c.token(identity)}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: identity, Namespace: "default"}
	cfg.CurrentContext = ContextName
	return cfg
}

// WriteKubeconfig writes Kubeconfig(identity) to a file in a test temp dir and returns
// its path.
func (c *Cluster) WriteKubeconfig(t testing.TB, identity string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig-"+identity)
	if err := clientcmd.WriteToFile(*c.Kubeconfig(identity), path); err != nil {
		t.Fatalf("write kubeconfig for %s: %v", identity, err)
	}
	return path
}

// Logs returns the tail (up to max bytes) of the kube-apiserver and etcd logs, for
// failure messages.
func (c *Cluster) Logs(max int) string {
	var b strings.Builder
	for _, name := range []string{"kube-apiserver.log", "etcd.log", "kube-controller-manager.log"} {
		fmt.Fprintf(&b, "==> %s <==\n%s\n", name, tailFile(filepath.Join(c.dir, name), max))
	}
	return b.String()
}
