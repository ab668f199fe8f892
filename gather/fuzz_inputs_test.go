package gather

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/hostfs"
)

// FuzzKubeconfig: any kubeconfig is refused with an error or gives a
// client that names its server; loading it never panics and never reaches
// the network.
func FuzzKubeconfig(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"))
	f.Add([]byte("apiVersion: v1\nkind: Config\ncurrent-context: missing\n"))
	f.Add([]byte("clusters: [{name: c, cluster: {server: \"http://u:p@[::1\"}}]\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		kc, err := NewKubeClient(Options{Kubeconfig: p})
		if err != nil {
			return
		}
		if kc.Config == nil || kc.Clientset == nil {
			t.Fatalf("client without config from %q", data)
		}
	})
}

// FuzzMountinfo: any /proc/self/mountinfo is read without a panic, and
// every entry has a mount point and a filesystem type.
func FuzzMountinfo(f *testing.F) {
	f.Add([]byte("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n23 22 0:5 / /dev/my\\040disk rw - devtmpfs udev rw\n"))
	f.Add([]byte(" - \n - x\n1 2 3 4 5 - \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		p := filepath.Join(root, "proc/self/mountinfo")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ms, err := readMountinfo(hostfs.New(root), "/proc/self/mountinfo")
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.mountPoint == "" || m.fsType == "" || strings.ContainsAny(m.fsType, " ") {
				t.Fatalf("entry %+v from %q", m, data)
			}
		}
	})
}
