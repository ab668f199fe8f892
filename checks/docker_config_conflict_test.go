package checks

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

func TestConfigConflictDedupe(t *testing.T) {
	files := map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--log-opt max-size=10m --insecure-registry=h:30280\"\n",
		"/etc/docker/daemon.json":                                  "{\n  \"log-opts\": {\n    \"max-size\": \"100m\"\n  },\n  \"insecure-registries\": [\"h:30280\"],\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n",
	}
	// The running daemon has the log-opt flag but not the insecure-registry one.
	s := confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--log-opt", "max-size=10m"})
	fs, err := DockerConfigConflict.Judge(s, diag.DefaultConfig())
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v %v", findingIDs(fs), err)
	}
	if !strings.Contains(fs[0].Summary, "insecure-registries: (from flag: [h:30280], from file: [h:30280]), log-opts: (from flag: map[max-size:10m], from file: map[max-size:100m])") {
		t.Errorf("summary %s", fs[0].Summary)
	}
	rem, ok := fs[0].Remediation("docker.config-conflict/dedupe")
	if !ok {
		t.Fatal("no dedupe")
	}
	edits := map[string]string{}
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			edits[st.File.Path] = st.File.Content
		}
	}
	p := dockerconf.Predict(s.DockerConf, edits)
	if len(p.Conflicts) != 0 || p.StartError != "" {
		t.Fatalf("after dedupe: %+v %s", p.Conflicts, p.StartError)
	}
	if o, _ := diag.Option(p.OnDisk, "log-opts"); o.Value != "map[max-size:10m]" || o.At.Origin == "daemon.json" {
		t.Errorf("log-opts after: %+v", o)
	}
	if o, _ := diag.Option(p.OnDisk, "insecure-registries"); o.At.Origin != "daemon.json" {
		t.Errorf("insecure-registries after: %+v", o)
	}
	t.Log(rem.Preview)
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
	rem, ok := dedupeRemediation(diag.NewPass(&DockerConfigConflict, s, nil))
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
