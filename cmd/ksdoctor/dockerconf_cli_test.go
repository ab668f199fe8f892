package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kubesprayRoot writes a node whose docker-options.conf and daemon.json both set log-opts.
func kubesprayRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"lib/systemd/system/docker.service":                       "[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n",
		"etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--log-opt max-size=10m --iptables=false\"\n",
		"etc/docker/daemon.json":                                  "{\n  \"log-opts\": {\"max-size\": \"100m\"},\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCLIDockerConfConflictAndJournal(t *testing.T) {
	root := kubesprayRoot(t)
	common := []string{"--host-root", root, "--docker-host", "unix:///nonexistent/docker.sock", "--dockerd-pidfile", "/nonexistent.pid"}

	r := ksd(t, append([]string{"sweep", "--checks", "docker.config-conflict,docker.effective-config", "--format", "json"}, common...)...)
	r.wantCode(t, 2)
	rep := decodeReport(t, []byte(r.stdout))
	if f, ok := rep.Finding("docker.config-conflict"); !ok || !strings.Contains(f.Summary, "log-opts: (from flag: map[max-size:10m], from file: map[max-size:100m])") {
		t.Fatalf("conflict finding: %+v", rep.Findings)
	}

	r = ksd(t, append([]string{"fix", "docker.config-conflict/dedupe", "--dry-run"}, common...)...)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "-  \"log-opts\": {\"max-size\": \"100m\"},") && !strings.Contains(r.stdout, "--log-opt max-size=10m") {
		t.Errorf("preview without a diff:\n%s", r.stdout)
	}

	r = ksd(t, append([]string{"journal"}, common...)...)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "No remediation") {
		t.Errorf("journal: %s", r.stdout)
	}

	// Under another host root ksdoctor will not drive this machine's systemd: the fix
	// fails before touching anything, and the journal says so.
	before, _ := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json"))
	r = ksd(t, append([]string{"fix", "docker.config-conflict/dedupe", "--yes"}, common...)...)
	r.wantCode(t, 4)
	if after, _ := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json")); string(after) != string(before) {
		t.Errorf("daemon.json changed by a refused fix")
	}
	r = ksd(t, append([]string{"journal"}, common...)...)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "docker.config-conflict/dedupe") || !strings.Contains(r.stdout, "failed") {
		t.Errorf("journal after the refused fix:\n%s", r.stdout)
	}
}
