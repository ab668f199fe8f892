package dockerconf

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ksdoctor/ksdoctor/diag"
)

const debianUnit = `[Unit]
Description=Docker Application Container Engine
After=network-online.target docker.socket

[Service]
Type=notify
# the default
ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS
ExecReload=/bin/kill -s HUP $MAINPID
Restart=always

[Install]
WantedBy=multi-user.target
`

const kubesprayOpts = `[Service]
Environment="DOCKER_OPTS=  --registry-mirror=https://registry.docker-cn.com --data-root=/var/lib/docker --log-opt max-size=10m --log-opt max-file=3 --insecure-registry=harbor.devops.kubesphere.local:30280 --iptables=false"
`

func kubesprayFS() fstest.MapFS {
	return fstest.MapFS{
		"lib/systemd/system/docker.service":                       {Data: []byte(debianUnit)},
		"etc/systemd/system/docker.service.d/docker-options.conf": {Data: []byte(kubesprayOpts)},
		"etc/systemd/system/docker.service.d/docker-dns.conf": {Data: []byte(`[Service]
Environment="DOCKER_DNS_OPTIONS=\
    --dns 10.233.0.3 --dns-search default.svc.cluster.local \
  "
`)},
	}
}

func byKeyMap(opts []diag.DockerOption) map[string]diag.DockerOption {
	m := map[string]diag.DockerOption{}
	for _, o := range opts {
		if _, ok := m[o.Key]; !ok {
			m[o.Key] = o
		}
	}
	return m
}

func TestResolveKubespray(t *testing.T) {
	f := Resolve(kubesprayFS(), nil)
	if len(f.Problems) > 0 {
		t.Fatalf("problems: %+v", f.Problems)
	}
	if f.Unit == nil || f.Unit.Path != "/lib/systemd/system/docker.service" {
		t.Fatalf("unit: %+v", f.Unit)
	}
	got := byKeyMap(f.OnDisk)
	want := map[string]string{
		"hosts":               "[fd://]",
		"registry-mirrors":    "[https://registry.docker-cn.com/]",
		"data-root":           "/var/lib/docker",
		"log-opts":            "map[max-file:3 max-size:10m]",
		"insecure-registries": "[harbor.devops.kubesphere.local:30280]",
		"iptables":            "false",
	}
	for k, v := range want {
		if got[k].Value != v {
			t.Errorf("%s: got %q want %q", k, got[k].Value, v)
		}
	}
	ip := got["iptables"]
	if ip.At.File != "/etc/systemd/system/docker.service.d/docker-options.conf" || ip.At.Line != 2 || ip.At.Via != "DOCKER_OPTS" {
		t.Errorf("iptables provenance: %+v", ip.At)
	}
	if h := got["hosts"]; h.At.File != "/lib/systemd/system/docker.service" || h.At.Line != 8 {
		t.Errorf("hosts provenance: %+v", h.At)
	}
}

func TestResolveConflict(t *testing.T) {
	fsys := kubesprayFS()
	fsys["etc/docker/daemon.json"] = &fstest.MapFile{Data: []byte("{\n  \"log-opts\": {\"max-size\": \"100m\"},\n  \"debug\": true\n}\n")}
	f := Resolve(fsys, nil)
	if len(f.Conflicts) != 1 || f.Conflicts[0].Key != "log-opts" {
		t.Fatalf("conflicts: %+v", f.Conflicts)
	}
	want := "the following directives are specified both as a flag and in the configuration file: log-opts: (from flag: map[max-file:3 max-size:10m], from file: map[max-size:100m])"
	if !strings.Contains(f.StartError, want) {
		t.Errorf("start error %q lacks %q", f.StartError, want)
	}
	if c := f.Conflicts[0]; c.File.At.Line != 2 {
		t.Errorf("file provenance %+v", c.File.At)
	}
}

func TestResolveProblems(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		data       string
		wantFile   string
		wantLine   int
	}{
		{"bad json", "etc/docker/daemon.json", "{\n  \"debug\": true,\n  \"iptables\" false\n}\n", "/etc/docker/daemon.json", 3},
		{"second ExecStart", "etc/systemd/system/docker.service.d/override.conf", "[Service]\nExecStart=/usr/bin/dockerd\n", "/etc/systemd/system/docker.service.d/override.conf", 2},
		{"bad quote", "etc/systemd/system/docker.service.d/docker-options.conf", "[Service]\n\nEnvironment=\"DOCKER_OPTS=--debug\n", "/etc/systemd/system/docker.service.d/docker-options.conf", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := kubesprayFS()
			fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.data)}
			f := Resolve(fsys, nil)
			found := false
			for _, p := range f.Problems {
				if p.File == tc.wantFile && p.Line == tc.wantLine {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %+v: want one at %s:%d", f.Problems, tc.wantFile, tc.wantLine)
			}
		})
	}
}

func TestResolveOverrideAndEnvFile(t *testing.T) {
	fsys := kubesprayFS()
	fsys["etc/systemd/system/docker.service.d/zz-override.conf"] = &fstest.MapFile{Data: []byte("[Service]\nEnvironmentFile=-/etc/default/docker\nEnvironmentFile=/etc/sysconfig/docker\nExecStart=\nExecStart=/usr/bin/dockerd $OPTIONS ${EXTRA}x\n")}
	fsys["etc/sysconfig/docker"] = &fstest.MapFile{Data: []byte("# comment\nOPTIONS='--debug --bip 10.1.0.1/24'\nEXTRA=--label=a\n")}
	f := Resolve(fsys, []string{"/usr/bin/dockerd", "--bip=10.2.0.1/24"})
	if len(f.Problems) > 0 {
		t.Fatalf("problems: %+v", f.Problems)
	}
	got := byKeyMap(f.OnDisk)
	if got["debug"].Value != "true" || got["bip"].Value != "10.1.0.1/24" || got["labels"].Value != "[a x]" && got["labels"].Value != "[ax]" {
		t.Errorf("got %+v", f.OnDisk)
	}
	if got["bip"].At.File != "/etc/sysconfig/docker" || got["bip"].At.Line != 2 {
		t.Errorf("bip provenance %+v", got["bip"].At)
	}
	if _, ok := got["iptables"]; ok {
		t.Errorf("iptables should be gone: ExecStart was reset")
	}
	if r := byKeyMap(f.Running); r["bip"].Value != "10.2.0.1/24" {
		t.Errorf("running %+v", f.Running)
	}
}
