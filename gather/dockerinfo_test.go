package gather

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/system"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestDockerInfoFacts converts real /info answers (Docker 18.09.6 from a kubeasz-era node,
// Debian's 20.10.24 with kubespray's flags) into the snapshot's facts.
func TestDockerInfoFacts(t *testing.T) {
	tests := []struct {
		file              string
		version, cgroup   string
		mirrors, insecure []string
		live              bool
	}{
		{"../testdata/realworld/kubeasz-0.5-graph-docker-18.09/docker-info.json", "18.09.6", "cgroupfs",
			[]string{"http://dockerhub.azk8s.cn/"}, []string{"127.0.0.0/8"}, true},
		{"../testdata/realworld/kubespray-api-only-no-drift/docker-info.json", "20.10.24+dfsg1", "systemd",
			[]string{"https://registry.docker-cn.com/", "https://mirror.aliyuncs.com/"},
			[]string{"127.0.0.0/8", "172.19.16.11", "mirror.registry.io"}, false},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var info system.Info
		if err := json.Unmarshal(data, &info); err != nil {
			t.Fatal(err)
		}
		var f diag.DockerFacts
		DockerInfoFacts(info, &f)
		d := f.Daemon
		if !f.Reachable || f.Version != tc.version || f.CgroupDriver != tc.cgroup || f.LiveRestore != tc.live || d == nil ||
			!slices.Equal(d.RegistryMirrors, tc.mirrors) || !slices.Equal(d.InsecureRegistries, tc.insecure) {
			t.Errorf("%s: facts %+v daemon %+v", tc.file, f, d)
		}
	}
}
