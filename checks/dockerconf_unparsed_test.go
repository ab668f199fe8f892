package checks

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// kubesprayWrapped is kubespray's docker-options.conf as its template renders it with
// the defaults: the value is continued over lines, two of them holding only " \".
const kubesprayWrapped = "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n--exec-opt native.cgroupdriver=systemd \\\n \\\n \\\n" +
	"--data-root=/var/lib/docker \\\n--log-opt max-size=50m --log-opt max-file=5 \\\n\"\n\n"

func TestIPTablesEnableOnWrappedKubespray(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/etc/systemd/system/docker.service":                       "[Service]\nType=notify\nExecStart=/usr/bin/dockerd \\\n          $DOCKER_OPTS \\\n          $DOCKER_DNS_OPTIONS\n",
		"/etc/systemd/system/docker.service.d/docker-options.conf": kubesprayWrapped,
	}, nil)
	if len(s.DockerConf.Problems) > 0 {
		t.Fatalf("problems on a valid wrapped value: %+v", s.DockerConf.Problems)
	}
	rem, ok := IPTablesEnableRemediation(s)
	if !ok || len(rem.Plan.Steps) == 0 {
		t.Fatalf("no remediation: %+v", rem)
	}
	var content string
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			content = st.File.Content
		}
	}
	if want := strings.Replace(kubesprayWrapped, " --iptables=false", "", 1); content != want {
		t.Fatalf("edited:\n%s\nwant:\n%s", content, want)
	}
}

// TestUnparsedIsNotDefaults: a daemon.json with a missing comma that sets max-size
// must not be judged as "logs grow without limit", and no fix edits it.
func TestUnparsedIsNotDefaults(t *testing.T) {
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
			rem, ok := IPTablesEnableRemediation(s)
			if !ok || len(rem.Plan.Steps) != 0 || !strings.HasPrefix(rem.Preview, "Refused: ") {
				t.Errorf("iptables enable must refuse: %+v", rem)
			}
		})
	}
}

// TestDedupeOnWrappedKubespray: the dedupe fix removes flags from kubespray's continued
// DOCKER_OPTS in place, and the result starts.
func TestDedupeOnWrappedKubespray(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/etc/systemd/system/docker.service":                       "[Service]\nType=notify\nExecStart=/usr/bin/dockerd \\\n          $DOCKER_OPTS\n",
		"/etc/systemd/system/docker.service.d/docker-options.conf": kubesprayWrapped,
		"/etc/docker/daemon.json":                                  "{\n  \"log-opts\": {\n    \"max-size\": \"5m\",\n    \"max-file\":\"3\"\n  },\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n",
	}, nil)
	if len(s.DockerConf.Conflicts) != 2 {
		t.Fatalf("conflicts %+v", s.DockerConf.Conflicts)
	}
	rem, ok := dedupeRemediation(s)
	if !ok || len(rem.Plan.Steps) == 0 {
		t.Fatalf("no dedupe: %+v", rem)
	}
	var content string
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			content = st.File.Content
		}
	}
	after := dockerconf.Predict(s.DockerConf, map[string]string{"/etc/systemd/system/docker.service.d/docker-options.conf": content})
	if after.StartError != "" || len(after.Problems) > 0 || len(after.Conflicts) > 0 {
		t.Fatalf("after the edit: %q %+v\n%s", after.StartError, after.Problems, content)
	}
	if got := strings.Join(after.Unit.Argv, " "); got != "/usr/bin/dockerd --iptables=false --data-root=/var/lib/docker" {
		t.Errorf("argv after the edit: %s\n%s", got, content)
	}
	if strings.Count(content, "\n") != strings.Count(kubesprayWrapped, "\n") {
		t.Errorf("the edit changed the number of lines:\n%s", content)
	}
}
