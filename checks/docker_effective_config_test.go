package checks

import (
	"strings"
	"testing"
)

func TestDockerEffectiveConfig(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--data-root=/data/docker\"\n",
		"/etc/docker/daemon.json":                                  "{\"log-driver\": \"json-file\"}\n",
	}, []string{"/usr/sbin/dockerd", "-H", "fd://", "--data-root=/data/docker"})
	fs, err := DockerEffectiveConfig.Judge(s, nil)
	if err != nil || len(fs) != 1 || fs[0].ID != "docker.effective-config" {
		t.Fatalf("findings %v, err %v", findingIDs(fs), err)
	}
	rows := map[string][]string{}
	for _, r := range fs[0].Evidence[0].Table.Rows {
		rows[r[0]] = r
	}
	if r := rows["data-root"]; r == nil || r[1] != "/data/docker" || !strings.Contains(r[2], "docker-options.conf:2") || r[3] != "/data/docker" {
		t.Errorf("data-root row %v", r)
	}
	if r := rows["log-driver"]; r == nil || r[1] != "json-file" || !strings.Contains(r[2], "daemon.json") {
		t.Errorf("log-driver row %v", r)
	}
	if !strings.Contains(fs[0].Title, "from 3 files") {
		t.Errorf("title %q", fs[0].Title)
	}
	empty := confSnapshot(map[string]string{}, nil)
	if _, err := DockerEffectiveConfig.Judge(empty, nil); err == nil {
		t.Errorf("no unit and no daemon.json: want a skip")
	}
}
