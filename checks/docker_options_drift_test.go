package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestAPIComparesAsDockerdNormalises: what /info reports after dockerd normalised the
// configuration is not drift.
func TestAPIComparesAsDockerdNormalises(t *testing.T) {
	tests := []struct {
		name       string
		same       func(a, b string) bool
		disk, info string
		want       bool
	}{
		{"mirror slash", sameMirrors, "[https://m.example https://n.example/]", "[https://n.example/ https://m.example/]", true},
		{"mirror missing", sameMirrors, "[https://m.example https://n.example]", "[https://m.example/]", false},
		{"insecure localhost", sameInsecure, "[]", "[127.0.0.0/8]", true},
		{"insecure scheme and cidr", sameInsecure, "[http://h.local:5000 10.20.0.1/16]", "[10.20.0.0/16 127.0.0.0/8 h.local:5000]", true},
		{"insecure added", sameInsecure, "[h.local]", "[127.0.0.0/8]", false},
		{"bip", sameBIP, "172.30.0.1/16", "172.30.0.1/16", true},
		{"bip moved", sameBIP, "10.1.0.1/24", "10.2.0.1/24", false},
		{"cgroup driver unset", sameCgroupDriver, "[]", "native.cgroupdriver=cgroupfs", true},
		{"cgroup driver", sameCgroupDriver, "[native.cgroupdriver=systemd]", "native.cgroupdriver=cgroupfs", false},
	}
	for _, tc := range tests {
		if got := tc.same(tc.disk, tc.info); got != tc.want {
			t.Errorf("%s: same(%q, %q) = %v, want %v", tc.name, tc.disk, tc.info, got, tc.want)
		}
	}
}

func TestAPIDriftRows(t *testing.T) {
	snap := &diag.Snapshot{
		Docker: &diag.DockerFacts{Reachable: true, DataRoot: "/data/docker/100000.100000", LoggingDriver: "json-file",
			Daemon: &diag.DockerDaemonInfo{SecurityOptions: []string{"name=userns"}, InsecureRegistries: []string{"127.0.0.0/8"},
				DefaultRuntime: "runc", Bridge: &diag.DockerBridge{Options: map[string]string{"com.docker.network.bridge.enable_ip_masquerade": "false"}}}},
		DockerConf: &diag.DockerConfFacts{OnDisk: []diag.DockerOption{
			{Key: "data-root", Value: "/data/docker", At: diag.Provenance{Origin: "daemon.json", File: "/etc/docker/daemon.json", Line: 2}},
			{Key: "userns-remap", Value: "default", At: diag.Provenance{Origin: "daemon.json", File: "/etc/docker/daemon.json", Line: 3}},
			{Key: "iptables", Value: "false", Flag: "iptables", At: diag.Provenance{Origin: "env", File: "/etc/systemd/system/docker.service.d/docker-options.conf", Line: 2}},
			{Key: "debug", Value: "true", At: diag.Provenance{Origin: "daemon.json", File: "/etc/docker/daemon.json", Line: 4}},
		}},
	}
	rows := apiDriftRows(diag.NewPass(&DockerOptionsDrift, snap, nil), nil)
	if len(rows) != 1 || rows[0][0] != "debug" || rows[0][4] != "Docker API /info Debug" {
		t.Fatalf("rows %q; want only debug, from /info", rows)
	}
}

func TestOptionsDrift(t *testing.T) {
	files := map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--iptables=false --bip 10.9.0.1/24\"\n",
	}
	s := confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--bip", "10.9.0.1/24", "--iptables=false"})
	if fs, _ := DockerOptionsDrift.Judge(s, diag.DefaultConfig()); len(fs) != 0 {
		t.Fatalf("no drift expected: %+v", fs)
	}
	s = confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--bip", "10.8.0.1/24"})
	fs, _ := DockerOptionsDrift.Judge(s, diag.DefaultConfig())
	if len(fs) != 1 || len(fs[0].Evidence[0].Table.Rows) != 2 {
		t.Fatalf("drift: %+v", fs)
	}
	if _, ok := fs[0].Remediation("docker.options-drift/restart"); !ok {
		t.Error("no restart remediation")
	}
}
