package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ksdoctor/ksdoctor/imagetar"
	"github.com/ksdoctor/ksdoctor/testbed"
)

const (
	// EnvKubelet and EnvControllerManager override the binaries `make
	// kube-node-bin` builds (testbed/kubenode).
	EnvKubelet           = "KSDOCTOR_KUBELET"
	EnvControllerManager = "KSDOCTOR_KUBE_CONTROLLER_MANAGER"
	// PauseImage is the sandbox image every node's containerd holds.
	PauseImage = "docker.io/library/ksdt-pause:1"

	nodeReadyTimeout = 90 * time.Second
)

// NodeBinaries returns the kubelet and kube-controller-manager paths.
func NodeBinaries() (kubelet, controllerManager string) {
	dir := filepath.Dir(DefaultAPIServer)
	kubelet, controllerManager = os.Getenv(EnvKubelet), os.Getenv(EnvControllerManager)
	if kubelet == "" {
		kubelet = filepath.Join(dir, "kubelet")
	}
	if controllerManager == "" {
		controllerManager = filepath.Join(dir, "kube-controller-manager")
	}
	return kubelet, controllerManager
}

// RequireNodes is Require plus what a real kubelet needs: its binaries,
// containerd, runc, ctr and the CNI plugins. It fails under CI=true.
func RequireNodes(t testing.TB) {
	t.Helper()
	Require(t)
	kubelet, kcm := NodeBinaries()
	var missing []string
	for _, p := range []string{kubelet, kcm, "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, p+" (make kube-node-bin; make deps)")
		}
	}
	for _, tool := range []string{"containerd", "ctr", "runc", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" (make deps)")
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("real kubelet unavailable under CI=true: missing %s", strings.Join(missing, ", "))
	}
	t.Skipf("real kubelet unavailable: missing %s", strings.Join(missing, ", "))
}

// Node is a real kubelet with containerd as its runtime, both in a network
// namespace of their own (Netns) with the node's address (IP), registered
// with the cluster as Name.
type Node struct {
	Name  string
	IP    string
	Netns *testbed.Netns
	// Dir holds containerd's and the kubelet's state; Containerd is its
	// socket (for ctr --address).
	Dir, Containerd string

	cgroup     string // cgroupRoot, in every v1 controller
	containerd *process
	kubelet    *process
}

// NodeOptions configure StartNode.
type NodeOptions struct {
	Name string
	// Netns is the node's network namespace; nil makes one.
	Netns *testbed.Netns
	// Images are image tars (imagetar, docker save) imported into the
	// node's containerd before the kubelet starts.
	Images []string
}

// StartNode starts containerd and a kubelet as node opts.Name of c, waits
// until the Node is Ready, and tears everything down when the test ends
// (kubelet, containerd, its shims and containers, mounts, cgroups, state).
func StartNode(t testing.TB, c *Cluster, nn *NodeNet, opts NodeOptions) *Node {
	t.Helper()
	RequireNodes(t)
	if !c.opts.Kubelets {
		t.Fatal("kube testbed: StartNode needs a cluster started with ClusterOptions.Kubelets (StartForNodes)")
	}
	n := &Node{Name: opts.Name, Netns: opts.Netns}
	if n.Netns == nil {
		n.Netns = testbed.NewNetns(t)
	}
	n.Dir = testbed.NewDir(t, "kn")
	n.Containerd = filepath.Join(n.Dir, "c.sock")
	n.cgroup = fmt.Sprintf("/ksdt-%d-%s", os.Getpid(), opts.Name)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node %s logs (tails):\n%s", n.Name, n.Logs(6144))
		}
		if err := n.teardown(); err != nil {
			t.Errorf("kube testbed: node %s: %v", n.Name, err)
		}
	})
	n.IP = nn.attach(t, n.Netns.Name)
	if err := n.setup(c); err != nil {
		t.Fatalf("kube testbed: node %s: %v", n.Name, err)
	}
	if err := n.startContainerd(); err != nil {
		t.Fatalf("kube testbed: node %s: %v", n.Name, err)
	}
	pause, err := n.pauseImage()
	if err != nil {
		t.Fatalf("kube testbed: node %s: %v", n.Name, err)
	}
	for _, img := range append([]string{pause}, opts.Images...) {
		if err := n.Import(img); err != nil {
			t.Fatalf("kube testbed: node %s: %v", n.Name, err)
		}
	}
	if err := n.startKubelet(c); err != nil {
		t.Fatalf("kube testbed: node %s: %v", n.Name, err)
	}
	return n
}

// cgroupControllers are the v1 hierarchies the kubelet's cgroupfs driver
// needs its cgroupRoot in.
var cgroupControllers = []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "systemd", "devices", "freezer", "blkio"}

// setup writes the node's certificates, kubeconfig, containerd and kubelet
// configurations and CNI network, and makes its cgroupRoot.
func (n *Node) setup(c *Cluster) error {
	ip := net.ParseIP(n.IP)
	if err := c.ca.issue(n.Dir, "kubelet", "system:node:"+n.Name, []string{"system:nodes"}, nil, false); err != nil {
		return err
	}
	if err := c.ca.issue(n.Dir, "serving", n.Name, nil, []net.IP{ip}, true); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "ca.crt"), c.caPEM, 0o600); err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["ksdt"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.caPEM}
	kc.AuthInfos["node"] = &clientcmdapi.AuthInfo{ClientCertificate: filepath.Join(n.Dir, "kubelet.crt"), ClientKey: filepath.Join(n.Dir, "kubelet.key")}
	kc.Contexts["ksdt"] = &clientcmdapi.Context{Cluster: "ksdt", AuthInfo: "node"}
	kc.CurrentContext = "ksdt"
	if err := clientcmd.WriteToFile(*kc, filepath.Join(n.Dir, "kubeconfig")); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	files := map[string]string{
		"containerd.toml":  containerdConfig(n.Dir),
		"kubelet.yaml":     kubeletConfig(n),
		"cni/10-ksdt.conf": cniConfig(n.Dir),
	}
	for name, data := range files {
		p := filepath.Join(n.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return err
		}
	}
	for _, ctl := range cgroupControllers {
		d := filepath.Join("/sys/fs/cgroup", ctl, n.cgroup)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		if ctl == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuset", f))
				if err != nil {
					return fmt.Errorf("cgroup: %w", err)
				}
				if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
					return fmt.Errorf("cgroup: %w", err)
				}
			}
		}
	}
	return nil
}

// inNetns runs bin inside the node's namespace (nsenter execs it, so the
// process's PID is bin's).
func (n *Node) inNetns(bin string, args []string, log string) (*process, error) {
	return startProcess("nsenter", append([]string{"--net=" + n.Netns.Path(), "--", bin}, args...), filepath.Join(n.Dir, log))
}

func (n *Node) startContainerd() error {
	p, err := n.inNetns("containerd", []string{"--config", filepath.Join(n.Dir, "containerd.toml")}, "containerd.log")
	if err != nil {
		return err
	}
	n.containerd = p
	_, err = waitReady(context.Background(), p, 30*time.Second, func() (bool, error) {
		return exec.Command("ctr", "--address", n.Containerd, "version").Run() == nil, nil
	})
	if err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	return nil
}

// Import imports an image tar into the node's containerd (namespace k8s.io,
// unpacked for the CRI's snapshotter).
func (n *Node) Import(tarPath string) error {
	out, err := exec.Command("ctr", "--address", n.Containerd, "-n", "k8s.io", "images", "import", "--all-platforms", tarPath).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import %s: %w: %s", tarPath, err, out)
	}
	return nil
}

// Images lists the node's containerd images (namespace k8s.io).
func (n *Node) Images() (string, error) {
	out, err := exec.Command("ctr", "--address", n.Containerd, "-n", "k8s.io", "images", "ls", "-q").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr images ls: %w: %s", err, out)
	}
	return string(out), nil
}

// Containers lists the node's containerd containers (namespace k8s.io).
func (n *Node) Containers() (string, error) {
	out, err := exec.Command("ctr", "--address", n.Containerd, "-n", "k8s.io", "containers", "ls", "-q").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr containers ls: %w: %s", err, out)
	}
	return string(out), nil
}

// pauseImage builds ksdt-pause statically and writes its image tar.
func (n *Node) pauseImage() (string, error) {
	bin := filepath.Join(n.Dir, "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/ksdoctor/ksdoctor/testbed/ksdt-pause")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ksdt-pause: %w: %s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := imagetar.Write(&buf, imagetar.Image{Ref: "ksdt-pause:1", Entrypoint: []string{"/pause"}, Files: []imagetar.File{{Path: "/pause", Mode: 0o755, Data: data}}}); err != nil {
		return "", err
	}
	tarPath := filepath.Join(n.Dir, "pause.tar")
	return tarPath, os.WriteFile(tarPath, buf.Bytes(), 0o644)
}

func (n *Node) startKubelet(c *Cluster) error {
	kubelet, _ := NodeBinaries()
	args := []string{
		"--config=" + filepath.Join(n.Dir, "kubelet.yaml"),
		"--kubeconfig=" + filepath.Join(n.Dir, "kubeconfig"),
		"--root-dir=" + filepath.Join(n.Dir, "kubelet"),
		"--cert-dir=" + filepath.Join(n.Dir, "kubelet-pki"),
		"--hostname-override=" + n.Name,
		"--node-ip=" + n.IP,
		"--v=1",
	}
	p, err := n.inNetns(kubelet, args, "kubelet.log")
	if err != nil {
		return err
	}
	n.kubelet = p
	cs, err := clientFor(c)
	if err != nil {
		return err
	}
	_, err = waitReady(context.Background(), p, nodeReadyTimeout, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("kubelet: node never Ready: %w", err)
	}
	return nil
}

// StopKubelet stops the node's kubelet (its containers keep running), as a
// node whose kubelet died.
func (n *Node) StopKubelet() error {
	err := n.kubelet.stop(stopGrace)
	return err
}

// Logs returns the tails of the node's kubelet and containerd logs.
func (n *Node) Logs(max int) string {
	var b strings.Builder
	for _, name := range []string{"kubelet.log", "containerd.log"} {
		fmt.Fprintf(&b, "==> %s %s <==\n%s\n", n.Name, name, tailFile(filepath.Join(n.Dir, name), max))
	}
	return b.String()
}

// teardown stops the kubelet, then containerd, kills what is left of the
// node's containers (by PID, through their shims' command lines and the
// node's cgroups), removes its state and cgroups.
func (n *Node) teardown() error {
	var errs []error
	errs = append(errs, n.kubelet.stop(stopGrace))
	n.kubelet = nil
	errs = append(errs, n.containerd.stop(stopGrace))
	n.containerd = nil
	errs = append(errs, killCgroup(n.cgroup))
	errs = append(errs, testbed.Teardown(n.Dir))
	errs = append(errs, removeCgroup(n.cgroup))
	return errors.Join(errs...)
}
