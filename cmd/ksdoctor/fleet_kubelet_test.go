package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/imagetar"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// realFleet is one cluster with one real kubelet node (containerd and the
// node's own dockerd in its network namespace, the ksdoctor image
// imported) and Node objects without a kubelet, shared by the subtests of
// TestFleetRealKubelet and BenchmarkFleetRealKubelet.
type realFleet struct {
	c        *kube.Cluster
	admin    kubernetes.Interface
	node     *kube.Node
	dockerd  *testbed.Dockerd
	hostRoot string // the node's own directory, its host root
	kc       string // kubeconfig of the identity bound only to deploy/fleet (+ reader.yaml)
	template string // --job-template mounting hostRoot as the host root
}

const realImage = "ksdoctor:kubelet-test"

// imageTar builds the static binary and writes the ksdoctor image as `make
// image-tar` does (same entrypoint and user).
func imageTar(t testing.TB, dir string) string {
	t.Helper()
	static := filepath.Join(dir, "ksdoctor-static")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=kubelet-test", "-o", static, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the static binary: %v\n%s", err, out)
	}
	data, err := os.ReadFile(static)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := imagetar.Write(&buf, imagetar.Image{Ref: realImage, Entrypoint: []string{"/ksdoctor"}, User: "0:0",
		Files: []imagetar.File{{Path: "/ksdoctor", Mode: 0o755, Data: data}}}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "image.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// nodeHostRoot makes the node's own root directory: the machine's /usr
// (the node's binaries and libraries: the pod runs the node's
// iptables-save and dockerd chrooted into it) and /proc bind-mounted, the
// merged-/usr links, /etc/alternatives, and run/ for dockerd's socket and
// pid file.
func nodeHostRoot(t testing.TB) string {
	t.Helper()
	root := testbed.NewDir(t, "nr")
	t.Cleanup(func() {
		if err := testbed.Teardown(root); err != nil {
			t.Error(err)
		}
	})
	// A mount point of its own, shared, as / is on a systemd node: the
	// Job's HostToContainer propagation refuses a private mount.
	testbed.Bind(t, root, root)
	if out, err := exec.Command("mount", "--make-rshared", root).CombinedOutput(); err != nil {
		t.Fatalf("make %s shared: %v %s", root, err, out)
	}
	testbed.Bind(t, "/usr", filepath.Join(root, "usr"))
	testbed.Bind(t, "/proc", filepath.Join(root, "proc"))
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		if target, err := os.Readlink("/" + l); err == nil {
			if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "/etc/alternatives", filepath.Join(root, "etc", "alternatives")).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/alternatives: %v %s", err, out)
	}
	for _, d := range []string{"run", "etc/docker", "var"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// /var/run is /run, as on every systemd node: dockerd's pid file
	// (/var/run/docker.pid) names the node's dockerd. Without it the sweep
	// scanned /proc and, with other tests' dockerds running at once (CI runs
	// every package together), found several and could not judge.
	if err := os.Symlink("../run", filepath.Join(root, "var", "run")); err != nil {
		t.Fatal(err)
	}
	return root
}

func startRealFleet(t testing.TB, ghosts []string) *realFleet {
	t.Helper()
	kube.RequireNodes(t)
	testbed.Require(t, "dockerd", "docker", "ctr")
	f := &realFleet{}
	var nn *kube.NodeNet
	f.c, nn = kube.StartForNodes(t)
	kube.StartControllerManager(t, f.c)
	f.admin = f.c.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	img := imageTar(t, dir)

	// The seed's node: dockerd --iptables=false in the node's namespace,
	// exited containers; its socket and pid file under the node's root.
	netns := testbed.NewNetns(t)
	f.hostRoot = nodeHostRoot(t)
	sock := filepath.Join(f.hostRoot, "run", "docker.sock")
	f.dockerd = testbed.StartDockerd(t, testbed.DockerdOptions{Netns: netns, ExtraArgs: []string{"--iptables=false", "-H", "unix://" + sock}})
	if err := os.WriteFile(filepath.Join(f.hostRoot, "run", "docker.pid"), []byte(strconv.Itoa(f.dockerd.PID)), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.dockerd.RunExited(t, fmt.Sprintf("nightly-job-%d", i), i%2)
	}
	f.node = kube.StartNode(t, f.c, nn, kube.NodeOptions{Name: "ksdt-real-1", Netns: netns, Images: []string{img}})
	createNodes(t, ctx, f.admin, ghosts, nil)
	applyFleetDeploy(t, ctx, f.admin, kube.Reader)
	f.kc = f.c.WriteKubeconfig(t, kube.Reader)
	f.template = filepath.Join(dir, "job.yaml")
	f.writeTemplate(t, f.template, "")
	return f
}

// writeTemplate writes a --job-template that mounts the node's own
// directory as the host root (inside a pod, hostPath / is the whole
// machine's); args, when given, replace the container's.
func (f *realFleet) writeTemplate(t testing.TB, path, args string) {
	t.Helper()
	tmpl := fmt.Sprintf(`apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
      - name: ksdoctor
%s
      volumes:
      - name: host
        hostPath:
          path: %s
`, args, f.hostRoot)
	if err := os.WriteFile(path, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sweep runs the real binary's fleet sweep as the deploy/fleet identity.
func (f *realFleet) sweep(t testing.TB, args ...string) (*fleet.Report, result) {
	t.Helper()
	argv := append([]string{bin, "sweep", "--all-nodes", "--kubeconfig", f.kc, "--context", kube.ContextName, "--format", "json"}, args...)
	r := runCmd(t, argv)
	if r.code == exitCannot && !strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		return nil, r
	}
	if err := schemacheck.ValidateFleetJSON([]byte(r.stdout)); err != nil {
		t.Fatalf("fleet JSON (exit %d, stderr %s): %v\n%s", r.code, r.stderr, err, r.stdout)
	}
	var rep fleet.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, r
}

// runCmd is runArgv for a testing.TB, with HOME and KUBECONFIG cleared so
// that no kubeconfig of the machine is found.
func runCmd(t testing.TB, argv []string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Env = cleanEnv(t)
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", argv, err)
	}
	return r
}

func cleanEnv(t testing.TB) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "HOME=") && !strings.HasPrefix(e, "KUBECONFIG=") {
			env = append(env, e)
		}
	}
	return append(env, "NO_COLOR=1", "HOME="+t.TempDir())
}

func nodeOf(rep *fleet.Report, name string) *fleet.Node {
	for i := range rep.Nodes {
		if rep.Nodes[i].Name == name {
			return &rep.Nodes[i]
		}
	}
	return nil
}

// nodeVerdicts are a report's findings (ID and severity) and check statuses,
// what must agree between the pod's sweep and a local one.
func nodeVerdicts(r *diag.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("finding %s %s", f.ID, f.Severity))
	}
	for _, c := range r.Checks {
		out = append(out, fmt.Sprintf("check %s %s", c.ID, c.Status))
	}
	sort.Strings(out)
	return out
}

// TestFleetRealKubelet: `sweep --all-nodes` (the real binary, as an
// identity bound only to deploy/fleet and deploy/rbac/reader.yaml) on a
// real kube-apiserver, kube-controller-manager (the Job controller) and a
// real kubelet with containerd, whose node is the seed's (its own dockerd
// with --iptables=false and exited containers in the node's namespace).
func TestFleetRealKubelet(t *testing.T) {
	f := startRealFleet(t, []string{"ksdt-ghost-1"})
	ctx := context.Background()

	t.Run("the node answers from inside the pod as a local sweep does", func(t *testing.T) {
		const timeout = 25 * time.Second
		start := time.Now()
		rep, r := f.sweep(t, "--image", realImage, "--job-template", f.template, "--node-timeout", timeout.String())
		took := time.Since(start)
		if rep == nil {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if r.code != rep.Summary.ExitCode {
			t.Errorf("exit %d, report says %d", r.code, rep.Summary.ExitCode)
		}
		n := nodeOf(rep, "ksdt-real-1")
		if n == nil || !n.Answered || n.Report == nil {
			t.Fatalf("real node did not answer: %+v\nnode logs:\n%s", n, f.node.Logs(4096))
		}
		ghost := nodeOf(rep, "ksdt-ghost-1")
		if ghost == nil || ghost.Answered || ghost.Reason != fleet.ReasonNoKubelet || !strings.Contains(ghost.Detail, "never picked it up") {
			t.Errorf("node without kubelet: %+v", ghost)
		}
		if ghost != nil && ghost.DurationMs > (timeout+3*time.Second).Milliseconds() {
			t.Errorf("gave up on the node without kubelet after %d ms, --node-timeout %s", ghost.DurationMs, timeout)
		}
		if took > timeout+30*time.Second {
			t.Errorf("the sweep took %s with --node-timeout %s", took, timeout)
		}
		// The pod read the node: its dockerd through the socket under
		// /host, the node's iptables (no MASQUERADE for docker0), the
		// exited containers.
		local := runCmd(t, []string{"nsenter", "--net=" + f.dockerd.Netns.Path(), "--", bin, "sweep", "--format", "json",
			"--host-root", f.hostRoot, "--docker-host", "unix://" + filepath.Join(f.hostRoot, "run", "docker.sock")})
		if local.code > 2 {
			t.Fatalf("local sweep exit %d: %s", local.code, local.stderr)
		}
		lr := decodeReport(t, []byte(local.stdout))
		got, want := nodeVerdicts(n.Report), nodeVerdicts(lr)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("the pod's verdicts differ from a local sweep's:\npod:   %v\nlocal: %v\npod's sources: %+v\nlocal sources: %+v", got, want, n.Report.Sources, lr.Sources)
		}
		for _, id := range []string{"net.docker0-masquerade-missing", "docker.exited-containers"} {
			if _, ok := n.Report.Finding(id); !ok {
				t.Errorf("the pod's report lacks %s: %v", id, findingIDs(n.Report))
			}
		}
		t.Logf("real node answered in %d ms; sweep took %s; findings %v", n.DurationMs, took.Round(time.Millisecond), findingIDs(n.Report))
		waitNothingLeft(t, f.admin)
	})

	t.Run("image missing on the node", func(t *testing.T) {
		rep, r := f.sweep(t, "--image", "ksdoctor:not-on-this-node", "--job-template", f.template, "--nodes", "ksdt-real-1", "--node-timeout", "15s")
		if rep == nil {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		n := nodeOf(rep, "ksdt-real-1")
		if n == nil || n.Answered || n.Reason != fleet.ReasonImageMissing || !strings.Contains(n.Detail, "not-on-this-node") {
			t.Errorf("image missing: %+v", n)
		}
		if r.code != exitCannot {
			t.Errorf("no node answered: exit %d, want %d", r.code, exitCannot)
		}
	})

	t.Run("a node report that is not JSON", func(t *testing.T) {
		tmpl := filepath.Join(t.TempDir(), "job.yaml")
		f.writeTemplate(t, tmpl, `        args: ["--version"]`)
		rep, r := f.sweep(t, "--image", realImage, "--job-template", tmpl, "--nodes", "ksdt-real-1", "--node-timeout", "30s")
		if rep == nil {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		n := nodeOf(rep, "ksdt-real-1")
		if n == nil || n.Answered || n.Reason != fleet.ReasonNotJSON || !strings.Contains(n.Detail, "kubelet-test") {
			t.Errorf("not JSON: %+v", n)
		}
	})

	t.Run("ctrl+c mid-sweep leaves nothing behind", func(t *testing.T) {
		waitNothingLeft(t, f.admin)
		cmd := exec.Command(bin, "sweep", "--all-nodes", "--kubeconfig", f.kc, "--context", kube.ContextName, "--format", "json",
			"--image", realImage, "--job-template", f.template, "--node-timeout", "3m")
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Env = &so, &se, cleanEnv(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Mid-sweep: both Jobs exist and the real node's pod has been created.
		deadline := time.Now().Add(60 * time.Second)
		for {
			pods, err := f.admin.CoreV1().Pods("ksdoctor").List(ctx, metav1.ListOptions{LabelSelector: fleet.LabelManagedBy + "=" + fleet.ManagedBy})
			if err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) == 2 {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no pods after 60 s: %s", se.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitCannot || !strings.Contains(se.String(), "interrupted") {
			t.Errorf("after SIGINT: %v, stderr %s", err, se.String())
		}
		// A second look, as a second run would: no Job, no pod (a running
		// pod's deletion completes when its kubelet has stopped it).
		waitNothingLeft(t, f.admin)
	})

	t.Run("deploy/fleet is enough and a missing verb is named", func(t *testing.T) {
		// Every run above was this identity's; now without create on jobs.
		role, err := f.admin.RbacV1().Roles("ksdoctor").Get(ctx, "ksdoctor-fleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		orig := role.DeepCopy()
		role.Rules[0].Verbs = []string{"get", "list", "watch", "delete"}
		if _, err := f.admin.RbacV1().Roles("ksdoctor").Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cur, _ := f.admin.RbacV1().Roles("ksdoctor").Get(ctx, "ksdoctor-fleet", metav1.GetOptions{})
			orig.ResourceVersion = cur.ResourceVersion
			if _, err := f.admin.RbacV1().Roles("ksdoctor").Update(ctx, orig, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}()
		// RBAC changes reach the authorizer through its informer: wait for it.
		var r result
		for range 20 {
			_, r = f.sweep(t, "--image", realImage, "--job-template", f.template, "--nodes", "ksdt-ghost-1", "--node-timeout", "2s")
			if strings.Contains(r.stderr, "forbidden") {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if r.code != exitCannot || !strings.Contains(r.stderr, `cannot create resource "jobs"`) {
			t.Errorf("without create on jobs: exit %d, stderr %s", r.code, r.stderr)
		}
		waitNothingLeft(t, f.admin)
	})
}

// waitNothingLeft waits until no Job or pod of any sweep is left (a
// running pod's deletion completes when its kubelet has stopped it, within
// its 5 s grace period) and fails the test if something stays 20 s.
func waitNothingLeft(t testing.TB, cs kubernetes.Interface) {
	t.Helper()
	var left []string
	for end := time.Now().Add(20 * time.Second); ; {
		left = leftBehind(t, context.Background(), cs)
		if len(left) == 0 {
			return
		}
		if time.Now().After(end) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("left behind: %v", left)
}
