package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestConfigUnparseableStopsTheOtherChecks: a daemon.json with a missing comma that sets max-size
// must not be judged as "logs grow without limit", and no fix edits it.
func TestConfigUnparseableStopsTheOtherChecks(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"daemon.json missing comma": {
			"/lib/systemd/system/docker.service": testUnit,
			"/etc/docker/daemon.json":            "{\n  \"log-driver\": \"json-file\"\n  \"log-opts\": {\"max-size\": \"100m\"},\n  \"iptables\": false\n}\n",
		},
		"unit with two ExecStart": {
			"/lib/systemd/system/docker.service":                 testUnit,
			"/etc/systemd/system/docker.service.d/override.conf": "[Service]\nExecStart=/usr/bin/dockerd --iptables=false -H fd:// -H tcp://0.0.0.0:2375\n",
			"/etc/docker/daemon.json":                            "{\"hosts\": [\"unix:///var/run/docker.sock\"]}\n",
		},
		"drop-in with an unterminated quote": {
			"/lib/systemd/system/docker.service":                       testUnit,
			"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--iptables=false --log-opt max-size=10m\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--iptables=false"})
			s.Sources[diag.SourceDockerdProc] = &diag.SourceStatus{OK: true}
			s.Dockerd = &diag.DockerdProcess{PID: 1, Args: []string{"/usr/sbin/dockerd", "-H", "fd://", "--iptables=false"}}
			if len(s.DockerConf.Unparsed) == 0 {
				t.Fatalf("nothing marked unparsed: %+v", s.DockerConf.Problems)
			}
			cfg := diag.DefaultConfig()
			cfg.DockerBaseline.LogDriver = "json-file"
			rep := diag.Run([]diag.Check{DockerConfigUnparseable, DockerConfigConflict, DockerOptionsDrift, DockerBaselineDrift, DockerLogRotationMissing},
				s, cfg, diag.RunOptions{})
			for _, c := range rep.Checks {
				if c.ID == DockerConfigUnparseable.ID {
					if c.Status != diag.StatusFail {
						t.Errorf("%s: %s", c.ID, c.Status)
					}
					continue
				}
				if c.Status != diag.StatusSkipped || !strings.Contains(c.Reason, "does not parse") {
					t.Errorf("%s: status %s reason %q, want skipped because a file does not parse", c.ID, c.Status, c.Reason)
				}
			}
			rem, ok := iptablesEnableRemediation(diag.NewPass(&DockerIPTablesDisabled, s, nil))
			if !ok || len(rem.Plan.Steps) != 0 || !strings.HasPrefix(rem.Preview, "Refused: ") {
				t.Errorf("iptables enable must refuse: %+v", rem)
			}
		})
	}
}

func TestDockerConfigUnparseable(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"all parse", map[string]string{"/lib/systemd/system/docker.service": testUnit, "/etc/docker/daemon.json": "{}\n"}, nil},
		{"daemon.json missing comma", map[string]string{
			"/lib/systemd/system/docker.service": testUnit,
			"/etc/docker/daemon.json":            "{\"debug\": true\n\"iptables\": false}\n",
		}, []string{"docker.config-unparseable//etc/docker/daemon.json=critical"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := DockerConfigUnparseable.Judge(confSnapshot(tc.files, nil), nil)
			if err != nil || !slices.Equal(ids(fs), tc.want) {
				t.Fatalf("got %v (%v), want %v", ids(fs), err, tc.want)
			}
			if len(fs) == 1 && !strings.HasPrefix(fs[0].Evidence[0].Table.Rows[0][0], "/etc/docker/daemon.json:2") {
				t.Errorf("position %v", fs[0].Evidence[0].Table.Rows)
			}
		})
	}
}
