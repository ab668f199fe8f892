package testbed

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 && os.Getenv("KSDT_STALE_HELPER") == "" {
		if err := KillStaleResources(); err != nil {
			fmt.Fprintf(os.Stderr, "testbed: clean stale resources: %v\n", err)
		}
	}
	m.Run()
}

func TestNetns(t *testing.T) {
	Require(t)
	n := NewNetns(t)
	if _, err := os.Stat(n.Path()); err != nil {
		t.Fatalf("netns path: %v", err)
	}
	if !strings.HasPrefix(n.Name, NetnsPrefix) {
		t.Errorf("name %q lacks prefix %q", n.Name, NetnsPrefix)
	}
	if out := n.Run(t, "ip", "-o", "link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("links in new netns: got %q, want only lo", out)
	}
	var ifaces []net.Interface
	if err := n.Do(func() error {
		var err error
		ifaces, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Flags&net.FlagUp == 0 {
		t.Errorf("interfaces inside Do: got %v, want lo up", ifaces)
	}
	host, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(host) == 1 {
		t.Errorf("after Do the thread still looks like it is in the netns: %v", host)
	}
	if _, err := n.TryRun("false"); err == nil {
		t.Error("TryRun(false): got nil error")
	}
}

func TestConnectNetns(t *testing.T) {
	Require(t, "busybox")
	a, b := NewNetns(t), NewNetns(t)
	ConnectNetns(t, a, "eth0", "10.98.0.1/24", b, "eth0", "10.98.0.2/24")
	b.ServeHTTP(t, "10.98.0.2:8080", map[string]string{"index.html": "hello from b\n"})
	got := a.Run(t, busyboxPath(), "timeout", "5", "wget", "-qO-", "http://10.98.0.2:8080/")
	if got != "hello from b\n" {
		t.Errorf("wget from a: got %q", got)
	}
}

func TestTmpfsFillTo(t *testing.T) {
	dir := Tmpfs(t, "16m")
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC || st.Blocks*uint64(st.Bsize) != 16<<20 {
		t.Fatalf("statfs: got type %#x size %d, want tmpfs of 16 MiB", st.Type, st.Blocks*uint64(st.Bsize))
	}
	for _, want := range []float64{40, 85, 100} {
		FillTo(t, dir, want)
		got, err := UsedPercent(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got < want || got > want+2 {
			t.Errorf("FillTo(%v): got %.2f%% used", want, got)
		}
	}
}

func TestLoopFS(t *testing.T) {
	dir := LoopFS(t, 32)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.EXT4_SUPER_MAGIC {
		t.Fatalf("statfs type: got %#x, want ext4", st.Type)
	}
	FillTo(t, dir, 90)
	got, err := UsedPercent(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got < 90 || got > 92 {
		t.Errorf("FillTo(90): got %.2f%% used", got)
	}
	if out, err := run("df", "--output=pcent", dir); err != nil || !strings.Contains(out, "9") {
		t.Errorf("df: %q %v", out, err)
	}
}

// childrenUnder returns the command lines of processes that mention dir.
func commandsUnder(t *testing.T, dir string) []string {
	t.Helper()
	ps, err := processes()
	if err != nil {
		t.Fatal(err)
	}
	var cls []string
	for _, p := range ps {
		if p.pid != os.Getpid() && strings.Contains(p.cmdline, dir+"/") && alive(p.pid) {
			cls = append(cls, p.cmdline)
		}
	}
	return cls
}

func TestDockerd(t *testing.T) {
	Require(t, "dockerd", "docker", "busybox", "iptables", "mkfs.ext4", "losetup")

	// A container on docker0 reaches a server in another namespace through
	// the node's forwarding and Docker's MASQUERADE rule.
	t.Run("NetworkDefault", func(t *testing.T) {
		t.Parallel()
		node, outside := NewNetns(t), NewNetns(t)
		ConnectNetns(t, node, "eth0", "10.99.1.1/24", outside, "eth0", "10.99.1.2/24")
		node.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		outside.ServeHTTP(t, "10.99.1.2:8080", map[string]string{"index.html": "outside-1\n"})
		d := StartDockerd(t, DockerdOptions{Netns: node})
		t.Logf("dockerd answered /_ping after %v", d.StartTime)
		img := d.BusyboxImage(t)
		got := d.CLI(t, "run", "--rm", img, "timeout", "10", "wget", "-qO-", "http://10.99.1.2:8080/")
		if got != "outside-1\n" {
			t.Errorf("wget from a container: got %q, want %q", got, "outside-1\n")
		}
		nat := node.Run(t, "iptables", "-t", "nat", "-S", "POSTROUTING")
		if !strings.Contains(nat, "MASQUERADE") {
			t.Errorf("node nat POSTROUTING has no MASQUERADE:\n%s", nat)
		}
		// The daemon uses its own containerd under its exec root.
		if cls := commandsUnder(t, d.ExecRoot); !strings.Contains(strings.Join(cls, "\n"), "containerd --config "+d.ExecRoot) {
			t.Errorf("no containerd under %s: %q", d.ExecRoot, cls)
		}
		// docker0 lives in the node namespace, not on the host.
		if !strings.Contains(node.Run(t, "ip", "-o", "link"), "docker0") {
			t.Error("no docker0 in the node namespace")
		}
	})

	// Without Docker's iptables rules there is no MASQUERADE and the reply
	// cannot find its way back; adding the rule by hand fixes it.
	t.Run("NetworkNoIptables", func(t *testing.T) {
		t.Parallel()
		node, outside := NewNetns(t), NewNetns(t)
		ConnectNetns(t, node, "eth0", "10.99.2.1/24", outside, "eth0", "10.99.2.2/24")
		node.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		outside.ServeHTTP(t, "10.99.2.2:8080", map[string]string{"index.html": "outside-2\n"})
		d := StartDockerd(t, DockerdOptions{Netns: node, ExtraArgs: []string{"--iptables=false"}})
		img := d.BusyboxImage(t)
		// --init: as PID 1, wget would ignore timeout's SIGTERM.
		wget := []string{"run", "--rm", "--init", img, "timeout", "3", "wget", "-qO-", "http://10.99.2.2:8080/"}
		if out, err := d.TryCLI(wget...); err == nil {
			t.Fatalf("wget without MASQUERADE: got %q, want a failure", out)
		}
		node.Run(t, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE")
		if got := d.CLI(t, wget...); got != "outside-2\n" {
			t.Errorf("wget with MASQUERADE: got %q", got)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		began := time.Now()
		root := LoopFS(t, 256)
		t.Logf("LoopFS took %v", time.Since(began))
		d := StartDockerd(t, DockerdOptions{DataRoot: root})
		c := d.Client(t)
		ctx := context.Background()
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Driver != "overlay2" || info.DockerRootDir != root {
			t.Errorf("info: got driver %q root %q, want overlay2 on %s", info.Driver, info.DockerRootDir, root)
		}
		t.Logf("dockerd %s, API %s, cgroup %s v%s", info.ServerVersion, c.ClientVersion(), info.CgroupDriver, info.CgroupVersion)
		pid, err := os.ReadFile(d.PIDFile)
		if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(d.PID) {
			t.Errorf("pidfile: got %q (%v), want %d", pid, err, d.PID)
		}

		specs := []ContainerSpec{{Name: "run-1", Running: true}, {Name: "run-2", Running: true}}
		for i, code := range []int{0, 3, 137} {
			specs = append(specs, ContainerSpec{Name: fmt.Sprintf("exit-%d", i), ExitCode: code})
		}
		began = time.Now()
		ids := d.RunMany(t, specs)
		ids = append(ids, d.RunExited(t, "exit-42", 42), d.RunSleeping(t, "sleeper"))
		t.Logf("7 containers took %v", time.Since(began))
		if ci, err := c.ContainerInspect(ctx, ids[len(ids)-2]); err != nil || ci.State.ExitCode != 42 {
			t.Errorf("exit-42: got exit code %v (%v)", ci.State, err)
		}
		list, err := c.ContainerList(ctx, container.ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]string{}
		for _, s := range list {
			state[strings.TrimPrefix(s.Names[0], "/")] = s.State
		}
		for name, want := range map[string]string{"run-1": "running", "sleeper": "running", "exit-1": "exited", "exit-42": "exited"} {
			if state[name] != want {
				t.Errorf("container %s: got state %q, want %q", name, state[name], want)
			}
		}
		if len(list) != len(ids) {
			t.Errorf("containers: got %d, want %d", len(list), len(ids))
		}
		if out := d.CLI(t, "ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"); strings.Count(out, "\n") != 4 {
			t.Errorf("docker ps exited: got %q, want 4 names", out)
		}

		began = time.Now()
		d.Stop(t)
		t.Logf("stop with 3 running containers took %v", time.Since(began))
		d.Stop(t) // idempotent
		if d.Running() || alive(d.PID) {
			t.Fatal("dockerd still running after Stop")
		}
		if _, err := c.Ping(ctx); err == nil {
			t.Error("ping answered after Stop")
		}
		if out, err := d.TryCLI("ps"); err == nil {
			t.Errorf("docker ps after Stop: got %q, want an error", out)
		}
		if cls := commandsUnder(t, d.ExecRoot); len(cls) > 0 {
			t.Errorf("processes left after Stop: %q", cls)
		}

		began = time.Now()
		d.Restart(t, "--bip=10.201.0.1/24")
		t.Logf("restart took %v (ping after %v)", time.Since(began), d.StartTime)
		if !strings.Contains(strings.Join(d.Args, " "), "--bip=10.201.0.1/24") {
			t.Errorf("args after Restart: %q", d.Args)
		}
		if !strings.Contains(d.Netns.Run(t, "ip", "-o", "-4", "addr", "show", "docker0"), "10.201.0.1/24") {
			t.Error("docker0 did not take --bip after Restart")
		}
		if out := d.CLI(t, "ps", "-a", "-q"); strings.Count(out, "\n") != len(ids) {
			t.Errorf("containers after Restart: got %q, want %d", out, len(ids))
		}
		if out := d.CLI(t, "run", "--rm", BusyboxTag, "echo", "ok"); out != "ok\n" {
			t.Errorf("run after Restart: got %q", out)
		}
		if err := d.TryRestart("--log-opt", "max-size=10m", "--config-file", writeFile(t, `{"log-opts":{"max-size":"100m"}}`)); err == nil {
			t.Error("restart with a flag and daemon.json conflict: got nil error")
		} else if !strings.Contains(err.Error(), "specified both as a flag and in the configuration file") {
			t.Errorf("restart with conflict: got %v", err)
		}
		began = time.Now()
		d.Restart(t, []string{}...)
		t.Logf("restart took %v", time.Since(began))
	})

	t.Run("OwnContainerd", func(t *testing.T) {
		t.Parallel()
		d := StartDockerd(t, DockerdOptions{OwnContainerd: true})
		if !strings.Contains(strings.Join(d.Args, " "), "--containerd "+filepath.Join(filepath.Dir(d.ExecRoot), "c", "c.sock")) {
			t.Errorf("args: %q", d.Args)
		}
		id := d.RunSleeping(t, "own-sleeper")
		if out := d.CLI(t, "exec", id, "echo", "hi"); out != "hi\n" {
			t.Errorf("exec: got %q", out)
		}
	})
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStaleHelperProcess is the crashing test process of
// TestKillStaleResources: it starts parts, reports them and waits to be
// killed.
func TestStaleHelperProcess(t *testing.T) {
	if os.Getenv("KSDT_STALE_HELPER") != "1" {
		t.Skip("helper process for TestKillStaleResources")
	}
	d := StartDockerd(t, DockerdOptions{})
	d.RunSleeping(t, "orphan")
	mnt := Tmpfs(t, "1m")
	dir, _ := processDir()
	fmt.Printf("READY %s %d %s %s\n", dir, d.PID, d.Netns.Name, mnt)
	time.Sleep(time.Hour)
}

func TestKillStaleResources(t *testing.T) {
	Require(t, "dockerd", "busybox")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStaleHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "KSDT_STALE_HELPER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir, ns, mnt string
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 5 && f[0] == "READY" {
			dir, ns, mnt = f[1], f[3], f[4]
			pid, _ = strconv.Atoi(f[2])
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if dir == "" {
		t.Fatal("helper did not report READY")
	}
	if !alive(pid) || len(commandsUnder(t, dir)) < 3 {
		t.Fatalf("after the crash: want dockerd %d, containerd and shim alive, got %q", pid, commandsUnder(t, dir))
	}
	if err := KillStaleResources(); err != nil {
		t.Fatalf("KillStaleResources: %v", err)
	}
	if alive(pid) {
		t.Errorf("dockerd %d still alive", pid)
	}
	if cls := commandsUnder(t, dir); len(cls) > 0 {
		t.Errorf("processes left: %q", cls)
	}
	if mps, _ := mountsUnder(dir); len(mps) > 0 {
		t.Errorf("mounts left: %q (tmpfs was %s)", mps, mnt)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join("/var/run/netns", ns)); !os.IsNotExist(err) {
		t.Errorf("netns %s still exists: %v", ns, err)
	}
}

// TestZZNoLeftovers runs last: nothing the other tests started may survive.
func TestZZNoLeftovers(t *testing.T) {
	Require(t)
	dir, err := processDir()
	if err != nil {
		t.Fatal(err)
	}
	if cls := commandsUnder(t, dir); len(cls) > 0 {
		t.Errorf("processes left: %q", cls)
	}
	if mps, _ := mountsUnder(dir); len(mps) > 0 {
		t.Errorf("mounts left: %q", mps)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "owner" {
			t.Errorf("left in %s: %s", dir, e.Name())
		}
	}
	out, _ := run("ip", "netns", "list")
	if strings.Contains(out, fmt.Sprintf("%s%d-", NetnsPrefix, os.Getpid())) {
		t.Errorf("netns left:\n%s", out)
	}
}
