package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes"
)

// containerdConfig is the node's containerd (config version 2): its own
// root, state and socket; the CRI with the imported pause image as the
// sandbox (nothing can be pulled) and restrict_oom_score_adj, since root
// here may lack CAP_SYS_RESOURCE and a negative oom_score_adj kills every
// sandbox ("can't get final child's PID from pipe: EOF").
func containerdConfig(dir string) string {
	snapshotter := "overlayfs"
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && uint32(st.Type) == 0x794c7630 {
		snapshotter = "native" // overlay on overlay does not mount
	}
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = %[6]q
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
`, filepath.Join(dir, "croot"), filepath.Join(dir, "cstate"), filepath.Join(dir, "c.sock"), filepath.Join(dir, "c.sock.ttrpc"),
		PauseImage, snapshotter, filepath.Join(dir, "cni"))
}

// kubeletConfig: cgroup v1 allowed (failCgroupV1: false) with the cgroupfs
// driver under the node's own cgroupRoot, oomScoreAdj 0 (see
// containerdConfig), x509 clients of the cluster CA (kube-apiserver's
// pods/log), no eviction on this shared disk, its pod logs in its own dir.
func kubeletConfig(n *Node) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %[1]s
cgroupsPerQOS: true
oomScoreAdj: 0
failSwapOn: false
address: %[2]s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: %[3]s
tlsPrivateKeyFile: %[4]s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %[5]s}
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix://%[6]s
imageServiceEndpoint: unix://%[6]s
podLogsDir: %[7]s
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "0%%"
  imagefs.available: "0%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
fileCheckFrequency: 5s
registerNode: true
clusterDNS: ["10.96.0.10"]
clusterDomain: cluster.local
`, n.cgroup, n.IP, filepath.Join(n.Dir, "serving.crt"), filepath.Join(n.Dir, "serving.key"), filepath.Join(n.Dir, "ca.crt"),
		n.Containerd, filepath.Join(n.Dir, "pod-logs"))
}

// cniConfig is a bridge network for pods that are not hostNetwork, in the
// node's namespace only (no masquerade, no gateway).
func cniConfig(dir string) string {
	return fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "ksdt", "type": "bridge", "bridge": "ksdtcni0",
 "ipam": {"type": "host-local", "subnet": "10.244.0.0/24", "dataDir": %q}}
`, filepath.Join(dir, "cni-ipam"))
}

// clientFor is an admin client of c.
func clientFor(c *Cluster) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.RESTConfig(Admin))
}

// cgroupPIDs lists the processes in the node's cgroup tree (pids hierarchy).
func cgroupPIDs(cgroup string) []int {
	var pids []int
	_ = filepath.WalkDir(filepath.Join("/sys/fs/cgroup/pids", cgroup), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// killCgroup SIGKILLs every process in the node's cgroup tree, by PID.
func killCgroup(cgroup string) error {
	for range 50 {
		pids := cgroupPIDs(cgroup)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("processes left in cgroup %s: %v", cgroup, cgroupPIDs(cgroup))
}

// removeCgroup removes the node's cgroup tree in every hierarchy, deepest
// first.
func removeCgroup(cgroup string) error {
	var errs []error
	// The kubelet (libcontainer) also makes its cgroups in the hybrid
	// layout's unified hierarchy.
	for _, ctl := range append(append([]string(nil), cgroupControllers...), "unified", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma") {
		root := filepath.Join("/sys/fs/cgroup", ctl, cgroup)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
