package checks

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestMasqueradeMissing(t *testing.T) {
	tests := []struct {
		name  string
		links []string
		save  string
		args  []string
		want  []string
	}{
		{"docker's own rule", docker0Up, dockerNat, nil, nil},
		{"no rule, docker0 up", docker0Up, emptyNat, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"no rule, docker0 down", []string{"docker0 bridge down - 172.17.0.1/16"}, emptyNat, nil, []string{"net.docker0-masquerade-missing=warning"}},
		{"kube-proxy's marked MASQUERADE does not cover docker0", docker0Up, kubeOnlyNat, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"kubespray workaround rule covers it", docker0Up, workaround, nil, nil},
		{"rule for another subnet", docker0Up, otherSubnet, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"tcp only is not enough", docker0Up, onlyTCP, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"wider rule in a user chain", docker0Up, viaUserChain, nil, nil},
		{"custom bridge, no rule", []string{"br-x bridge up - 172.17.0.1/16"}, emptyNat, []string{"/usr/bin/dockerd", "--bridge=br-x"}, []string{"net.docker0-masquerade-missing=critical"}},
		{"rule only towards the bridge itself", docker0Up, "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 -o docker0 -j MASQUERADE\nCOMMIT\n", nil, []string{"net.docker0-masquerade-missing=critical"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := netSnap(t, tc.links, nil, tc.save, tc.args...)
			got, err := NetDocker0MasqueradeMissing.Judge(s, diag.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}

func TestMasqueradeSkipsWithoutBridge(t *testing.T) {
	s := netSnap(t, []string{"eth0 device up -"}, nil, emptyNat)
	_, err := NetDocker0MasqueradeMissing.Judge(s, diag.DefaultConfig())
	if _, ok := diag.IsSkip(err); !ok {
		t.Errorf("want a skip, got %v", err)
	}
	s = netSnap(t, docker0Up, nil, emptyNat, "/usr/bin/dockerd", "--bridge=none")
	if _, err := NetDocker0MasqueradeMissing.Judge(s, diag.DefaultConfig()); err == nil {
		t.Errorf("--bridge=none: want a skip")
	}
}

// TestMasqueradeMissingUndecidedIsUnknown: a match the walker cannot evaluate that changes the
// answer is an info "unknown" finding and a check error, never a pass or
// an alarm; a MASQUERADE written by hand makes --iptables=false info.
func TestMasqueradeMissingUndecidedIsUnknown(t *testing.T) {
	physdev := "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m physdev --physdev-is-bridged -j RETURN\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n"
	s := netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, physdev)
	rep := diag.Run([]diag.Check{NetDocker0MasqueradeMissing}, s, diag.DefaultConfig(), diag.RunOptions{})
	if got := ids(rep.Findings); !slices.Equal(got, []string{"net.docker0-masquerade-missing/unknown=info"}) || rep.Checks[0].Status != diag.StatusError {
		t.Errorf("unknown: findings %v, status %s", got, rep.Checks[0].Status)
	}
	s = netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, workaround, "/usr/bin/dockerd", "--iptables=false")
	rep = diag.Run([]diag.Check{DockerIPTablesDisabled, NetDocker0MasqueradeMissing}, s, diag.DefaultConfig(), diag.RunOptions{})
	if got := ids(rep.Findings); !slices.Equal(got, []string{"docker.iptables-disabled=info"}) {
		t.Errorf("workaround: %v", got)
	}
}

// TestMasqueradeMissingFromRawDump: a snapshot that carries only a raw iptables-save
// dump and ipset list (no parsed tables) is judged the same.
func TestMasqueradeMissingFromRawDump(t *testing.T) {
	s := netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, "")
	s.Network.Tables = nil
	s.Network.IPTablesSave = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m set --match-set DOCKERNETS src -j MASQUERADE\nCOMMIT\n"
	s.Network.IPSetSave = "create DOCKERNETS hash:net family inet\nadd DOCKERNETS 172.17.0.0/16\n"
	if got, err := NetDocker0MasqueradeMissing.Judge(s, diag.DefaultConfig()); err != nil || len(got) != 0 {
		t.Errorf("raw dump with the set: %v, %v", ids(got), err)
	}
	s.Network.IPSetSave = "create DOCKERNETS hash:net family inet\nadd DOCKERNETS 10.0.0.0/8\n"
	if got, _ := NetDocker0MasqueradeMissing.Judge(s, diag.DefaultConfig()); !slices.Equal(ids(got), []string{"net.docker0-masquerade-missing=critical"}) {
		t.Errorf("raw dump, set without docker0: %v", ids(got))
	}
	if s.Network.Tables != nil || s.Network.IPSets != nil {
		t.Errorf("the check changed the snapshot")
	}
}
