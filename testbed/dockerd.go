package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"
)

const (
	// dockerdStartTimeout bounds the wait for /_ping after launch.
	dockerdStartTimeout = 60 * time.Second
	// dockerdStopTimeout bounds the wait after SIGTERM before SIGKILL.
	dockerdStopTimeout = 30 * time.Second
	// systemContainerdSocket is where dockerd looks for a system containerd;
	// when it exists, dockerd uses it instead of starting its own.
	systemContainerdSocket = "/run/containerd/containerd.sock"
	overlayfsMagic         = 0x794c7630
)

// DockerdOptions configure StartDockerd.
type DockerdOptions struct {
	// Netns is the namespace dockerd runs in; nil creates a fresh one.
	Netns *Netns
	// DataRoot is --data-root; "" uses a new directory under BaseDir. A
	// given directory (for example a LoopFS) is left in place, with
	// whatever dockerd mounted below it unmounted at the end.
	DataRoot string
	// ExtraArgs follow the standard flags, e.g. "--iptables=false",
	// "--bip=10.200.0.1/24". A --storage-driver (or -s) here replaces the
	// automatic choice, a --config-file replaces the private empty one and a
	// --containerd disables the private containerd.
	ExtraArgs []string
	// Env is added to dockerd's environment (after a PATH with the sbin
	// directories, which it may override).
	Env []string
	// OwnContainerd starts a private containerd for this daemon and passes
	// --containerd, as is done automatically when a system containerd
	// socket exists (dockerd would otherwise share it).
	OwnContainerd bool
}

// Dockerd is a running (or stopped) Docker daemon owned by one test.
type Dockerd struct {
	Host     string // "unix:///…/d.sock", for client.WithHost and docker -H
	Socket   string
	DataRoot string
	ExecRoot string
	PIDFile  string
	PID      int // PID of the current (or last) dockerd process
	Netns    *Netns
	Args     []string // full argv dockerd was last started with
	Log      string   // dockerd's stdout and stderr, appended across restarts
	// StartTime is how long the last start took until /_ping answered.
	StartTime time.Duration

	dir        string
	extra      []string
	env        []string
	ownCtrd    bool
	ctrdCmd    *exec.Cmd
	ctrdDone   chan struct{}
	cmd        *exec.Cmd
	done       chan struct{}
	mu         sync.Mutex // serialises image import
	stopped    bool
	ownDataDir bool
}

// StartDockerd starts an isolated dockerd inside a network namespace and
// waits until /_ping answers. When the test ends it stops the daemon by PID
// (SIGTERM, then SIGKILL), kills anything left that was started from its
// directories, unmounts what is left below its exec root and data root and
// removes its directories.
func StartDockerd(t testing.TB, opts DockerdOptions) *Dockerd {
	t.Helper()
	Require(t, "dockerd", "containerd", "runc")
	dir := newDir(t, "d")
	d := &Dockerd{
		Socket:   filepath.Join(dir, "d.sock"),
		ExecRoot: filepath.Join(dir, "x"),
		PIDFile:  filepath.Join(dir, "d.pid"),
		Log:      filepath.Join(dir, "dockerd.log"),
		Netns:    opts.Netns,
		DataRoot: opts.DataRoot,
		dir:      dir,
		extra:    slices.Clone(opts.ExtraArgs),
		env:      slices.Clone(opts.Env),
		ownCtrd:  opts.OwnContainerd,
	}
	d.Host = "unix://" + d.Socket
	if len(d.Socket) >= 108 {
		t.Fatalf("testbed: socket path %q too long for a unix socket", d.Socket)
	}
	if d.DataRoot == "" {
		d.DataRoot = filepath.Join(dir, "data")
		d.ownDataDir = true
	}
	if d.Netns == nil {
		d.Netns = NewNetns(t)
	}
	for _, p := range []string{d.DataRoot, d.ExecRoot} {
		if err := os.MkdirAll(p, 0o711); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatalf("testbed: write daemon.json: %v", err)
	}
	t.Cleanup(func() { d.cleanup(t) })
	if err := d.start(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return d
}

// Client returns an API client for the daemon that negotiates the API
// version (Debian's dockerd 20.10 speaks 1.41); it is closed when the test
// ends.
func (d *Dockerd) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("testbed: docker client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// CLI runs the docker CLI against the daemon and returns its combined
// output; it fails the test when the command fails.
func (d *Dockerd) CLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.TryCLI(args...)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return out
}

// TryCLI runs the docker CLI against the daemon and returns its combined
// output and error, for commands expected to fail.
func (d *Dockerd) TryCLI(args ...string) (string, error) {
	argv := append([]string{"-H", d.Host}, args...)
	cmd := command("docker", argv...)
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+filepath.Join(d.dir, "cli"), "DOCKER_CLI_HINTS=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), &cmdError{argv: append([]string{"docker"}, argv...), out: string(out), err: err}
	}
	return string(out), nil
}

// Running reports whether the dockerd process is alive.
func (d *Dockerd) Running() bool {
	if d.done == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Stop stops the daemon now: SIGTERM by PID, then SIGKILL after 30 s. It
// does nothing when the daemon is not running. Containers with the default
// 10 s stop timeout that ignore SIGTERM (sleep as PID 1 does) delay it;
// RunSleeping sets a 1 s stop timeout.
func (d *Dockerd) Stop(t testing.TB) {
	t.Helper()
	if err := d.stop(); err != nil {
		t.Errorf("testbed: %v", err)
	}
}

// Restart stops the daemon and starts it again with the same directories and
// namespace. Non-nil args replace the extra arguments (pass []string{}... to
// drop them all); without args the previous ones are kept.
func (d *Dockerd) Restart(t testing.TB, args ...string) {
	t.Helper()
	if err := d.TryRestart(args...); err != nil {
		t.Fatalf("testbed: %v", err)
	}
}

// TryRestart is Restart that returns the error, for daemons expected to
// refuse to start (for example over a daemon.json conflict); the error
// carries the end of the daemon's log.
func (d *Dockerd) TryRestart(args ...string) error {
	if err := d.stop(); err != nil {
		return err
	}
	if args != nil {
		d.extra = slices.Clone(args)
	}
	return d.start()
}

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}

// storageDriver picks overlay2, or vfs when the data root is itself on an
// overlay file system.
func storageDriver(dataRoot string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dataRoot, &st); err == nil && uint32(st.Type) == overlayfsMagic {
		return "vfs"
	}
	return "overlay2"
}

func (d *Dockerd) start() error {
	d.stopped = false
	args := []string{
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"-H", d.Host,
		"--pidfile", d.PIDFile,
	}
	if !hasFlag(d.extra, "--config-file") {
		args = append(args, "--config-file", filepath.Join(d.dir, "daemon.json"))
	}
	if !hasFlag(d.extra, "--storage-driver", "-s") {
		args = append(args, "--storage-driver", storageDriver(d.DataRoot))
	}
	if !hasFlag(d.extra, "--containerd") && (d.ownCtrd || isSocket(systemContainerdSocket)) {
		addr, err := d.startContainerd()
		if err != nil {
			return err
		}
		args = append(args, "--containerd", addr)
	}
	args = append(args, d.extra...)

	logf, err := os.OpenFile(d.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open dockerd log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== testbed: starting dockerd %s\n", strings.Join(args, " "))
	cmd := command("nsenter", append([]string{"--net=" + d.Netns.Path(), "dockerd"}, args...)...)
	cmd.Env = append(cmd.Env, d.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	d.cmd, d.PID, d.Args = cmd, cmd.Process.Pid, append([]string{"dockerd"}, args...)
	done := make(chan struct{})
	d.done = done
	go func() { _ = cmd.Wait(); close(done) }()

	c, err := client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(dockerdStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Ping(ctx)
		cancel()
		if err == nil {
			d.StartTime = time.Since(began)
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("dockerd exited during start (%v):\n%s", cmd.ProcessState, d.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = d.stop()
			return fmt.Errorf("dockerd did not answer /_ping within %v: %w\n%s", dockerdStartTimeout, err, d.LogTail(30))
		}
	}
}

// startContainerd starts a private containerd in the daemon's namespace and
// returns its socket.
func (d *Dockerd) startContainerd() (string, error) {
	if d.ctrdDone != nil {
		select {
		case <-d.ctrdDone:
		default:
			return filepath.Join(d.dir, "c", "c.sock"), nil
		}
	}
	cdir := filepath.Join(d.dir, "c")
	if err := os.MkdirAll(cdir, 0o711); err != nil {
		return "", fmt.Errorf("containerd dir: %w", err)
	}
	sock := filepath.Join(cdir, "c.sock")
	conf := filepath.Join(cdir, "config.toml")
	toml := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n",
		filepath.Join(d.DataRoot, "ksdt-containerd"), filepath.Join(cdir, "state"), sock, sock+".ttrpc")
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		return "", fmt.Errorf("containerd config: %w", err)
	}
	logf, err := os.OpenFile(d.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("open dockerd log: %w", err)
	}
	defer logf.Close()
	cmd := command("nsenter", "--net="+d.Netns.Path(), "containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start containerd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	d.ctrdCmd, d.ctrdDone = cmd, done
	deadline := time.Now().Add(20 * time.Second)
	for !isSocket(sock) {
		select {
		case <-done:
			return "", fmt.Errorf("containerd exited during start:\n%s", d.LogTail(20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", errors.New("containerd socket did not appear within 20s")
		}
	}
	return sock, nil
}

func isSocket(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// terminate sends SIGTERM to a child, waits, then SIGKILLs it.
func terminate(p *os.Process, done <-chan struct{}, grace time.Duration) (killed bool) {
	select {
	case <-done:
		return false
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return false
	case <-time.After(grace):
	}
	_ = p.Kill()
	<-done
	return true
}

func (d *Dockerd) stop() error {
	if d.cmd == nil || d.stopped {
		return nil
	}
	d.stopped = true
	var errs []error
	if terminate(d.cmd.Process, d.done, dockerdStopTimeout) {
		errs = append(errs, fmt.Errorf("dockerd (pid %d) ignored SIGTERM for %v; killed", d.PID, dockerdStopTimeout))
	}
	if d.ctrdCmd != nil {
		terminate(d.ctrdCmd.Process, d.ctrdDone, 10*time.Second)
	}
	// A killed dockerd leaves its containerd, shims and containers behind.
	if _, err := killProcessesUnder(d.dir, 0); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *Dockerd) cleanup(t testing.TB) {
	if err := d.stop(); err != nil {
		t.Errorf("testbed: %v", err)
	}
	if t.Failed() {
		t.Logf("testbed: end of %s:\n%s", d.Log, d.LogTail(40))
	}
	for _, p := range []string{d.ExecRoot, d.DataRoot} {
		if err := unmountUnder(p); err != nil {
			t.Errorf("testbed: %v", err)
		}
	}
	if err := removeAll(d.dir); err != nil {
		t.Errorf("testbed: %v", err)
	}
}

// LogTail returns the last n lines of the daemon's log.
func (d *Dockerd) LogTail(n int) string {
	b, err := os.ReadFile(d.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
