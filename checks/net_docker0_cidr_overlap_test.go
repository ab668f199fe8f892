package checks

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestDocker0CIDROverlap(t *testing.T) {
	tests := []struct {
		name  string
		links []string
		route []string
		want  []string
	}{
		{"no overlap", calicoLinks, []string{"10.233.97.175/32 cali1", "172.17.0.0/16 docker0"}, nil},
		{"pod route inside docker0", calicoLinks, []string{"172.17.3.4/32 cali1"}, []string{"net.docker0-cidr-overlap=warning"}},
		{"VPN address overlaps", append(slices.Clone(docker0Up), "tun0 tun up - 172.16.0.0/12"), nil, []string{"net.docker0-cidr-overlap=warning"}},
		{"veth on docker0 is not an overlap", append(slices.Clone(docker0Up), "veth1 veth up docker0 172.17.0.9/16"), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NetDocker0CIDROverlap.Judge(netSnap(t, tc.links, tc.route, emptyNat), diag.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}
