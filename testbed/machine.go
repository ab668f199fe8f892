package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SystemdTree is the Debian tree (systemd 252, D-Bus, docker.io 20.10)
// that testbed/systemd/build-tree.sh caches and BootMachine boots.
func SystemdTree() string {
	if d := os.Getenv("KSDOCTOR_SYSTEMD_TREE"); d != "" {
		return d
	}
	return "/var/cache/ksdoctor-test/debian-systemd"
}

// Machine is a real systemd booted with systemd-nspawn from SystemdTree in a
// network namespace of the test's own, with --volatile=overlay so nothing it
// writes outlives it. Its systemd runs docker.service as on a Debian node.
type Machine struct {
	Netns *Netns
	// Leader is the machine's PID 1 as this machine's PID namespace sees it.
	Leader int
	cmd    *exec.Cmd
	done   chan struct{}
	cgroup string
}

// MachineOptions tunes BootMachine.
type MachineOptions struct {
	// BindRO maps host paths to paths inside the machine, read-only
	// ("/host/path:/inside/path"), e.g. the ksdoctor binary under test.
	BindRO []string
	// Bind maps host paths to paths inside the machine, read-write.
	Bind []string
	// DockerDir is the host directory bound at the machine's /var/lib/docker
	// (default: a fresh one).
	DockerDir string
}

// cgroupWrapper puts itself into cgroup $1 of every v1 hierarchy (nspawn
// with --keep-unit would otherwise write payload/ and supervisor/ at the
// hierarchies' roots) and then execs the rest of its arguments.
const cgroupWrapper = `name=$1; shift
for d in /sys/fs/cgroup/*/; do
  [ -e "$d/cgroup.procs" ] || continue
  case "$d" in */unified/) continue;; esac
  mkdir -p "$d$name"
  if [ -e "${d}cpuset.cpus" ]; then
    cat "${d}cpuset.cpus" > "$d$name/cpuset.cpus"; cat "${d}cpuset.mems" > "$d$name/cpuset.mems"
  fi
  echo $$ > "$d$name/cgroup.procs"
done
exec "$@"`

// BootMachine boots the machine and waits until its systemd reports the
// system running (docker.service started). It is halted and every trace of
// it removed when the test ends.
func BootMachine(t testing.TB, opts MachineOptions) *Machine {
	t.Helper()
	Require(t, "systemd-nspawn", "nsenter")
	tree := SystemdTree()
	if _, err := os.Stat(filepath.Join(tree, ".ksdoctor-tree")); err != nil {
		msg := "testbed: no systemd tree at " + tree + " (make systemd-tree builds it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	m := &Machine{Netns: NewNetns(t), done: make(chan struct{})}
	m.cgroup = fmt.Sprintf("%smachine-%d-%d", NetnsPrefix, os.Getpid(), nextID())
	dockerDir := opts.DockerDir
	if dockerDir == "" {
		dockerDir = newDir(t, "machine-docker")
	}
	argv := []string{"sh", "-c", cgroupWrapper, "sh", m.cgroup,
		"systemd-nspawn", "-D", tree, "-b", "--register=no", "--keep-unit", "--machine=" + m.cgroup,
		"--network-namespace-path=" + m.Netns.Path(), "--capability=all",
		"--volatile=overlay", "--console=pipe", "--bind=" + dockerDir + ":/var/lib/docker"}
	for _, b := range opts.BindRO {
		argv = append(argv, "--bind-ro="+b)
	}
	for _, b := range opts.Bind {
		argv = append(argv, "--bind="+b)
	}
	m.cmd = command(argv[0], argv[1:]...)
	m.cmd.Env = append(m.cmd.Env, "SYSTEMD_NSPAWN_API_VFS_WRITABLE=network")
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &logWriter{t: t, prefix: "machine: "}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("testbed: start systemd-nspawn: %v", err)
	}
	go func() { _ = m.cmd.Wait(); log.close(); close(m.done) }()
	t.Cleanup(func() { m.halt(t) })
	if err := m.waitRunning(60 * time.Second); err != nil {
		t.Fatalf("testbed: machine did not boot: %v", err)
	}
	return m
}

// waitRunning finds the machine's PID 1 and waits for `systemctl
// is-system-running` to say running (or degraded, with the failed units named).
func (m *Machine) waitRunning(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for m.Leader == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no systemd under nspawn PID %d", m.cmd.Process.Pid)
		}
		select {
		case <-m.done:
			return fmt.Errorf("systemd-nspawn exited")
		case <-time.After(50 * time.Millisecond):
		}
		m.Leader = findChild(m.cmd.Process.Pid, "systemd")
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for {
		out, err := m.commandContext(ctx, "systemctl", "is-system-running", "--wait").CombinedOutput()
		state := strings.TrimSpace(string(out))
		switch {
		case state == "running":
			return nil
		case (state == "offline" || strings.Contains(state, "Failed to connect to bus") || strings.Contains(state, "has not been booted")) && ctx.Err() == nil:
			// PID 1 is up but has not yet made its bus or /run/systemd/system: ask again.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		failed, _ := m.commandContext(context.Background(), "systemctl", "--failed", "--no-legend").CombinedOutput()
		return fmt.Errorf("system state %q (%v); failed units: %s", state, err, failed)
	}
}

// findChild returns the PID of a descendant of pid whose command is comm.
func findChild(pid int, comm string) int {
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			c, _ := strconv.Atoi(f)
			name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
			if strings.TrimSpace(string(name)) == comm {
				return c
			}
			queue = append(queue, c)
		}
	}
	return 0
}

// Root is the machine's / as seen from outside: the host root a ksdoctor in
// a pod would be given.
func (m *Machine) Root() string { return fmt.Sprintf("/proc/%d/root", m.Leader) }

// DockerHost is the machine's Docker socket as reached from outside.
func (m *Machine) DockerHost() string { return "unix://" + m.Root() + "/run/docker.sock" }

func (m *Machine) commandContext(ctx context.Context, argv ...string) *exec.Cmd {
	args := append([]string{"-t", strconv.Itoa(m.Leader), "-a", "--"}, argv...)
	p, err := lookPath("nsenter")
	if err != nil {
		p = "nsenter"
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Env = []string{"PATH=" + sbinPath, "LANG=C.UTF-8"}
	return cmd
}

// Command runs argv inside the machine (all its namespaces).
func (m *Machine) Command(argv ...string) *exec.Cmd {
	return m.commandContext(context.Background(), argv...)
}

// Run runs argv inside the machine and returns its combined output; it
// fails the test when the command fails.
func (m *Machine) Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := m.TryRun(argv...)
	if err != nil {
		t.Fatalf("testbed: in machine: %v", err)
	}
	return out
}

// TryRun runs argv inside the machine (bounded to two minutes) and returns
// its combined output and error.
func (m *Machine) TryRun(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := m.commandContext(ctx, argv...).CombinedOutput()
	if err != nil {
		return string(out), &cmdError{argv: argv, out: string(out), err: err}
	}
	return string(out), nil
}

// WriteFile writes a file inside the machine (in its volatile overlay).
func (m *Machine) WriteFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(m.Root(), path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("testbed: machine mkdir: %v", err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatalf("testbed: machine write %s: %v", path, err)
	}
}

// ReadFile reads a file inside the machine.
func (m *Machine) ReadFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(m.Root(), path))
	if err != nil {
		t.Fatalf("testbed: machine read %s: %v", path, err)
	}
	return string(data)
}

// halt stops the machine by PID (SIGTERM to nspawn halts it; SIGKILL to its
// process group after a grace period) and removes its cgroups.
func (m *Machine) halt(t testing.TB) {
	if m.cmd.Process != nil {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
			<-m.done
		}
	}
	// nspawn may exit before its machine is down (its PID 1 is then
	// reparented here): killing the machine's PID 1 ends its PID namespace,
	// every process in it with it.
	if m.Leader > 0 {
		_ = syscall.Kill(m.Leader, syscall.SIGKILL)
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + m.cgroup)
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range dirs {
		for cgroupBusy(d) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		removeCgroup(d)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/" + m.cgroup); len(left) > 0 {
		t.Errorf("testbed: machine cgroups left behind: %v", left)
	}
}

// cgroupBusy reports whether any process is still in dir or below it.
func cgroupBusy(dir string) bool {
	busy := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			if data, _ := os.ReadFile(p); len(strings.TrimSpace(string(data))) > 0 {
				busy = true
			}
		}
		return nil
	})
	return busy
}

// removeCgroup removes a cgroup directory and the ones below it, deepest first.
func removeCgroup(dir string) {
	var subs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			subs = append(subs, p)
		}
		return nil
	})
	for i := len(subs) - 1; i >= 0; i-- {
		for try := 0; try < 50; try++ {
			if err := syscall.Rmdir(subs[i]); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
