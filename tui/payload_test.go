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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stepPayload(tc.step); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
