package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Faulty front ends for the real parts the fault tests run on: each serves
// on a socket of the test's own and stops, with every connection it holds,
// when the test ends.

// faultProxy is an HTTP server on a listener of the test's own that
// forwards to a real server, or does not, as fault says.
type faultProxy struct {
	srv     *http.Server
	release chan struct{}
	once    sync.Once
}

// fault decides what the proxy does with a request: forward it (return
// false) or handle it itself (write the answer, or hold it, then true).
type fault func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) bool

// holdIf holds the requests match selects until the test ends: they are
// sent and never answered.
func holdIf(match func(*http.Request) bool) fault {
	return func(_ http.ResponseWriter, r *http.Request, release <-chan struct{}) bool {
		if !match(r) {
			return false
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
}

// delayAll forwards every request after d.
func delayAll(d time.Duration) fault {
	return func(_ http.ResponseWriter, r *http.Request, release <-chan struct{}) bool {
		select {
		case <-time.After(d):
			return false
		case <-release:
			return true
		case <-r.Context().Done():
			return true
		}
	}
}

// statusIf answers the requests match selects with code and a Kubernetes
// Status body.
func statusIf(code int, match func(*http.Request) bool) fault {
	return func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) bool {
		if !match(r) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected by the fault test","code":` +
			strconv.Itoa(code) + `}`))
		return true
	}
}

// startFaultProxy serves on l and forwards what f lets through to target
// through transport.
func startFaultProxy(t *testing.T, l net.Listener, target *url.URL, transport http.RoundTripper, f fault) *faultProxy {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	p := &faultProxy{release: make(chan struct{})}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f != nil && f(w, r, p.release) {
				return
			}
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = p.srv.Serve(l) }()
	t.Cleanup(p.stop)
	return p
}

func (p *faultProxy) stop() {
	p.once.Do(func() {
		close(p.release)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.srv.Shutdown(ctx); err != nil {
			_ = p.srv.Close()
		}
	})
}

// unixTransport dials the unix socket path whatever the URL says.
func unixTransport(path string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
}

// dockerProxy puts a fault proxy on a new unix socket in front of the
// dockerd socket at target and returns its docker host address.
func dockerProxy(t *testing.T, target string, f fault) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	startFaultProxy(t, l, &url.URL{Scheme: "http", Host: "docker"}, unixTransport(target), f)
	return "unix://" + sock
}

// hungListener accepts connections on l and never answers; they are closed
// when the test ends.
func hungListener(t *testing.T, l net.Listener) {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}

// hungDockerSocket is a docker host whose socket accepts and never answers.
func hungDockerSocket(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hungListener(t, l)
	return "unix://" + sock
}
