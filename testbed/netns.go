package testbed

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// NetnsPrefix starts the name of every network namespace the package makes.
const NetnsPrefix = "ksdt-"

// Netns is a network namespace made with `ip netns add`, so that it is
// visible as /var/run/netns/NAME to every tool.
type Netns struct{ Name string }

// NewNetns creates a network namespace named ksdt-<PID>-<n> with its loopback
// up, and deletes it when the test ends.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	n := &Netns{Name: fmt.Sprintf("%s%d-%d", NetnsPrefix, os.Getpid(), nextID())}
	if _, err := run("ip", "netns", "add", n.Name); err != nil {
		t.Fatalf("testbed: create netns: %v", err)
	}
	t.Cleanup(func() {
		if _, err := run("ip", "netns", "del", n.Name); err != nil {
			t.Errorf("testbed: delete netns: %v", err)
		}
	})
	if _, err := run("ip", "-n", n.Name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("testbed: loopback up in %s: %v", n.Name, err)
	}
	return n
}

// Path returns the namespace's bind mount, /var/run/netns/NAME.
func (n *Netns) Path() string { return filepath.Join("/var/run/netns", n.Name) }

// Command returns a command that runs argv inside the namespace through
// `nsenter --net=PATH`, which (unlike `ip netns exec`) keeps the host's
// mounts, /sys and cgroup file systems visible.
func (n *Netns) Command(argv ...string) *exec.Cmd {
	return command("nsenter", append([]string{"--net=" + n.Path(), "--"}, argv...)...)
}

// Run runs argv inside the namespace and returns its combined output; it
// fails the test when the command fails.
func (n *Netns) Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := n.TryRun(argv...)
	if err != nil {
		t.Fatalf("testbed: in netns %s: %v", n.Name, err)
	}
	return out
}

// TryRun runs argv inside the namespace and returns its combined output and
// error, for commands expected to fail.
func (n *Netns) TryRun(argv ...string) (string, error) {
	out, err := n.Command(argv...).CombinedOutput()
	if err != nil {
		return string(out), &cmdError{argv: argv, out: string(out), err: err}
	}
	return string(out), nil
}

// Start starts argv inside the namespace in the background, with its output
// going to the test log, and kills it by PID when the test ends.
func (n *Netns) Start(t testing.TB, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := n.Command(argv...)
	w := &logWriter{t: t, prefix: filepath.Base(argv[0]) + ": "}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("testbed: start %v in netns %s: %v", argv, n.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		w.close()
	})
	return cmd
}

// Do runs fn on a locked OS thread switched into the namespace and switches
// back afterwards. Sockets opened in fn stay in the namespace.
func (n *Netns) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromPath(n.Path())
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", n.Name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", n.Name, err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime ends it with the goroutine
		// instead of reusing a thread in the wrong namespace.
		return fmt.Errorf("leave netns %s: %w (fn: %v)", n.Name, err, fnErr)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// WaitListen waits until a TCP connection to addr succeeds from inside the
// namespace, for at most timeout.
func (n *Netns) WaitListen(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := n.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testbed: %s not listening in netns %s after %v: %v", addr, n.Name, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ServeHTTP serves files (name to content) with `busybox httpd` on addr
// (host:port) inside the namespace until the test ends, and returns when the
// port accepts connections.
func (n *Netns) ServeHTTP(t testing.TB, addr string, files map[string]string) {
	t.Helper()
	dir := newDir(t, "www")
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("testbed: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}
	n.Start(t, busyboxPath(), "httpd", "-f", "-p", addr, "-h", dir)
	n.WaitListen(t, addr, 10*time.Second)
}

// ConnectNetns links two namespaces with a veth pair, aIf in a and bIf in b,
// gives each end its address (CIDR notation) and brings both up. The pair is
// created inside a, so interface names only need to be unique per namespace.
func ConnectNetns(t testing.TB, a *Netns, aIf, aCIDR string, b *Netns, bIf, bCIDR string) {
	t.Helper()
	steps := [][]string{
		{"ip", "-n", a.Name, "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name},
		{"ip", "-n", a.Name, "addr", "add", aCIDR, "dev", aIf},
		{"ip", "-n", b.Name, "addr", "add", bCIDR, "dev", bIf},
		{"ip", "-n", a.Name, "link", "set", aIf, "up"},
		{"ip", "-n", b.Name, "link", "set", bIf, "up"},
	}
	for i, s := range steps {
		if _, err := run(s[0], s[1:]...); err != nil {
			t.Fatalf("testbed: connect %s and %s: %v", a.Name, b.Name, err)
		}
		if i == 0 {
			t.Cleanup(func() { _, _ = run("ip", "-n", a.Name, "link", "del", aIf) })
		}
	}
}

// logWriter sends a process's output to the test log line by line, until the
// test ends.
type logWriter struct {
	t      testing.TB
	prefix string
	buf    []byte
	closed bool
	mu     sync.Mutex
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
