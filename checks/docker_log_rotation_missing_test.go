package checks

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

func TestLogRotationSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		where string
	}{
		{"flags", map[string]string{
			"/lib/systemd/system/docker.service":                       testUnit,
			"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--log-opt max-file=3 --data-root=/d\"\n",
		}, "/etc/systemd/system/docker.service.d/docker-options.conf"},
		{"daemon.json", map[string]string{
			"/lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n",
			"/etc/docker/daemon.json":            "{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}",
		}, "/etc/docker/daemon.json"},
		{"no daemon.json, DOCKER_OPTS", map[string]string{
			"/lib/systemd/system/docker.service":                       testUnit,
			"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--data-root=/d\"\n",
		}, "/etc/systemd/system/docker.service.d/docker-options.conf"},
		{"nothing", map[string]string{"/lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/sbin/dockerd\n"}, "/etc/docker/daemon.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := confSnapshot(tc.files, nil)
			fs, err := DockerLogRotationMissing.Judge(s, diag.DefaultConfig())
			if err != nil || len(fs) != 1 {
				t.Fatalf("findings %v %v", findingIDs(fs), err)
			}
			rem, ok := fs[0].Remediation("docker.log-rotation-missing/set")
			if !ok {
				t.Fatal("no remediation")
			}
			edits := map[string]string{}
			for _, st := range rem.Plan.Steps {
				if st.File != nil {
					edits[st.File.Path] = st.File.Content
				}
			}
			if _, ok := edits[tc.where]; !ok || len(edits) != 1 {
				t.Fatalf("edits %v, want %s", edits, tc.where)
			}
			p := dockerconf.Predict(s.DockerConf, edits)
			if o, _ := diag.Option(p.OnDisk, "log-opts"); !strings.Contains(o.Value, "max-size:100m") || !strings.Contains(o.Value, "max-file:") {
				t.Errorf("after: %+v", p.OnDisk)
			}
			s2 := &diag.Snapshot{Sources: s.Sources, DockerConf: p}
			if fs, _ := DockerLogRotationMissing.Judge(s2, diag.DefaultConfig()); len(fs) != 0 {
				t.Errorf("still a finding after the edit")
			}
		})
	}
}
