package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestBaselineDrift(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service": testUnit,
		"/etc/docker/daemon.json":            `{"log-opts": {"max-size": "10m", "max-file": "3"}, "registry-mirrors": ["https://m"]}`,
	}, nil)
	yes := true
	cfg := diag.DefaultConfig()
	cfg.DockerBaseline = diag.DockerBaseline{IPTables: &yes, LogOpts: map[string]string{"max-size": "100m"}, RegistryMirrors: []string{"https://m"}, DataRoot: "/data/docker"}
	fs, err := DockerBaselineDrift.Judge(s, cfg)
	if err != nil || len(fs) != 1 {
		t.Fatalf("%v %v", fs, err)
	}
	got := map[string]bool{}
	for _, r := range fs[0].Evidence[0].Table.Rows {
		got[r[0]] = true
	}
	if !got["log-opts"] || !got["data-root"] || got["iptables"] || got["registry-mirrors"] {
		t.Errorf("rows %v", fs[0].Evidence[0].Table.Rows)
	}
}
