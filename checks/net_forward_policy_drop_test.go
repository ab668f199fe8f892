package checks

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// calicoLinks is a node with docker0 and Calico's pod interfaces.
var calicoLinks = []string{"eth0 device up - 10.0.0.5/24", "docker0 bridge up - 172.17.0.1/16", "cali1 veth up -", "tunl0 ipip up - 10.233.97.128/32"}

func TestForwardPolicyDrop(t *testing.T) {
	dropNoAccept := "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
	dropDocker := "*filter\n:FORWARD DROP [0:0]\n:DOCKER-FORWARD - [0:0]\n-A FORWARD -j DOCKER-FORWARD\n-A DOCKER-FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A DOCKER-FORWARD -i docker0 -j ACCEPT\nCOMMIT\n"
	dropBoth := "*filter\n:FORWARD DROP [0:0]\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\n-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\nCOMMIT\n"
	tests := []struct {
		name  string
		links []string
		save  string
		want  []string
	}{
		{"drop, nothing accepts", docker0Up, dropNoAccept, []string{"net.forward-policy-drop=warning"}},
		{"drop, Docker 28 DOCKER-FORWARD accepts", docker0Up, dropDocker, nil},
		{"drop, docker0 ok, calico pods not", calicoLinks, dropDocker, []string{"net.forward-policy-drop=warning"}},
		{"drop, KUBE-FORWARD and docker0 accept", calicoLinks, dropBoth, nil},
		{"accept policy", docker0Up, emptyNat, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NetForwardPolicyDrop.Judge(netSnap(t, tc.links, nil, tc.save), diag.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}
