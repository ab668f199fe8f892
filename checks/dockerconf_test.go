package checks

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

const testUnit = "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"

func confSnapshot(files map[string]string, running []string) *diag.Snapshot {
	m := fstest.MapFS{}
	for p, c := range files {
		m[strings.TrimPrefix(p, "/")] = &fstest.MapFile{Data: []byte(c), Mode: 0o644}
	}
	s := &diag.Snapshot{Sources: map[diag.Source]*diag.SourceStatus{diag.SourceDockerConf: {OK: true}}}
	s.DockerConf = dockerconf.Resolve(m, running)
	return s
}

func findingIDs(fs []diag.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestIPTablesEnableRemediation(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false --data-root=/var/lib/docker --log-opt max-size=10m\"\n",
	}, nil)
	file, line, ok := IPTablesFlagProvenance(s)
	if !ok || file != "/etc/systemd/system/docker.service.d/docker-options.conf" || line != 2 {
		t.Fatalf("provenance %s:%d %v", file, line, ok)
	}
	rem, ok := IPTablesEnableRemediation(s)
	if !ok {
		t.Fatal("no remediation")
	}
	var edit *diag.FileEdit
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			edit = st.File
		}
	}
	if edit == nil || strings.Contains(edit.Content, "iptables") || !strings.Contains(edit.Content, "DOCKER_OPTS= --data-root=/var/lib/docker --log-opt") {
		t.Fatalf("edit %+v", edit)
	}
	if !strings.Contains(rem.Preview, "-Environment=\"DOCKER_OPTS= --iptables=false") || !strings.Contains(rem.Preview, "Blast radius") {
		t.Errorf("preview:\n%s", rem.Preview)
	}
	t.Log(rem.Preview)
}

func TestConfigConflictDedupe(t *testing.T) {
	files := map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--log-opt max-size=10m --insecure-registry=h:30280\"\n",
		"/etc/docker/daemon.json":                                  "{\n  \"log-opts\": {\n    \"max-size\": \"100m\"\n  },\n  \"insecure-registries\": [\"h:30280\"],\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n",
	}
	// The running daemon has the log-opt flag but not the insecure-registry one.
	s := confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--log-opt", "max-size=10m"})
	fs, err := runConfigConflict(s, diag.DefaultConfig())
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
			fs, err := runLogRotation(s, diag.DefaultConfig())
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
			if fs, _ := runLogRotation(s2, diag.DefaultConfig()); len(fs) != 0 {
				t.Errorf("still a finding after the edit")
			}
		})
	}
}

func TestOptionsDrift(t *testing.T) {
	files := map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--iptables=false --bip 10.9.0.1/24\"\n",
	}
	s := confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--bip", "10.9.0.1/24", "--iptables=false"})
	if fs, _ := runOptionsDrift(s, diag.DefaultConfig()); len(fs) != 0 {
		t.Fatalf("no drift expected: %+v", fs)
	}
	s = confSnapshot(files, []string{"/usr/sbin/dockerd", "-H", "fd://", "--bip", "10.8.0.1/24"})
	fs, _ := runOptionsDrift(s, diag.DefaultConfig())
	if len(fs) != 1 || len(fs[0].Evidence[0].Table.Rows) != 2 {
		t.Fatalf("drift: %+v", fs)
	}
	if _, ok := fs[0].Remediation("docker.options-drift/restart"); !ok {
		t.Error("no restart remediation")
	}
}

func TestBaselineDrift(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service": testUnit,
		"/etc/docker/daemon.json":            `{"log-opts": {"max-size": "10m", "max-file": "3"}, "registry-mirrors": ["https://m"]}`,
	}, nil)
	yes := true
	cfg := diag.DefaultConfig()
	cfg.DockerBaseline = diag.DockerBaseline{IPTables: &yes, LogOpts: map[string]string{"max-size": "100m"}, RegistryMirrors: []string{"https://m"}, DataRoot: "/data/docker"}
	fs, err := runBaselineDrift(s, cfg)
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
