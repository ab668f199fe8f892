package tui

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestStepPayloadShowsTheExactPayload(t *testing.T) {
	tests := []struct {
		name string
		step diag.Step
		want []string
	}{
		{"container", diag.Step{Kind: diag.StepRemoveContainer, Description: "docker rm x",
			Container: &diag.ContainerTarget{ID: "0123456789abcdef", Name: "job"}},
			[]string{`container: name="job" id="0123456789abcdef"`}},
		{"iptables", diag.Step{Kind: diag.StepIPTablesRule, Description: "add rule",
			IPTablesRule: &diag.IPTablesRule{Table: "nat", Chain: "POSTROUTING", Rule: []string{"-s", "172.17.0.0/16", "-j", "MASQUERADE"}}},
			[]string{`iptablesRule: table="nat" chain="POSTROUTING" rule=["-s","172.17.0.0/16","-j","MASQUERADE"]`}},
		{"sysctl", diag.Step{Kind: diag.StepSysctlPersist, Description: "persist",
			Sysctl: &diag.SysctlChange{Key: "net.ipv4.ip_forward", Value: "1", File: "/etc/sysctl.d/90-ksdoctor.conf"}},
			[]string{`sysctl: value="1" key="net.ipv4.ip_forward" file="/etc/sysctl.d/90-ksdoctor.conf"`}},
		{"no payload", diag.Step{Kind: diag.StepPruneBuildCache, Description: "prune"}, nil},
		{"file edit shows the diff, not the whole file", diag.Step{Kind: diag.StepFileEdit, Description: "edit daemon.json",
			File: &diag.FileEdit{Path: "/etc/docker/daemon.json", BeforeSHA256: "abc", Content: "{\n  \"log-opts\": {}\n}\n",
				Diff: "--- a/etc/docker/daemon.json\n+++ b/etc/docker/daemon.json\n@@ -1,3 +1,2 @@\n {\n-  \"log-opts\": {\"max-size\": \"10m\"}\n+  \"log-opts\": {}\n }\n"}},
			[]string{
				`file: beforeSha256="abc" path="/etc/docker/daemon.json" content=<21 bytes: the diff below applied>`,
				"diff:", "  --- a/etc/docker/daemon.json", "  +++ b/etc/docker/daemon.json", "  @@ -1,3 +1,2 @@", "   {",
				`  -  "log-opts": {"max-size": "10m"}`, `  +  "log-opts": {}`, "   }",
			}},
		{"data-root move with a nested edit", diag.Step{Kind: diag.StepDataRootMigrate, Description: "move",
			Migration: &diag.DataRootMove{From: "/var/lib/docker", To: "/data/docker", Bytes: 10, Files: 2, Backup: "/var/lib/docker.ksdoctor-old",
				Edit: &diag.FileEdit{Path: "/etc/docker/daemon.json", Content: "{}", Diff: "-a\n+b\n"}}},
			[]string{
				`migration: files=2 bytes=10 to="/data/docker" from="/var/lib/docker" backup="/var/lib/docker.ksdoctor-old"`,
				`migration.edit: beforeSha256="" path="/etc/docker/daemon.json" content=<2 bytes: the diff below applied>`,
				"diff:", "  -a", "  +b",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stepPayload(tc.step); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
