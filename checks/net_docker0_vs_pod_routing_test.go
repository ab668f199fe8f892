package checks

import (
	"strings"
	"testing"
)

func TestDocker0VsPodRouting(t *testing.T) {
	calicoNAT := "*nat\n:POSTROUTING ACCEPT [0:0]\n:cali-POSTROUTING - [0:0]\n:cali-nat-outgoing - [0:0]\n-A POSTROUTING -j cali-POSTROUTING\n-A cali-POSTROUTING -j cali-nat-outgoing\n-A cali-nat-outgoing -s 10.233.64.0/18 ! -d 10.233.64.0/18 -j MASQUERADE\nCOMMIT\n"
	s := netSnap(t, calicoLinks, []string{"0.0.0.0/0 eth0 10.0.0.1", "10.233.97.175/32 cali1"}, calicoNAT, "/usr/bin/dockerd", "--iptables=false")
	fs, err := NetDocker0VsPodRouting.Judge(s, nil)
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v, err %v", ids(fs), err)
	}
	if !strings.HasPrefix(fs[0].Summary, "Pods work but hand-started containers are broken now") {
		t.Errorf("summary %q", fs[0].Summary)
	}
	rows := fs[0].Evidence[0].Table.Rows
	if len(rows) != 2 || rows[0][3] != "broken: no NAT" || rows[1][2] != "cali-nat-outgoing" || !strings.Contains(rows[1][1], "1 pod /32 routes") {
		t.Errorf("paths %v", rows)
	}
	if _, err := NetDocker0VsPodRouting.Judge(netSnap(t, []string{"eth0 device up - 10.0.0.5/24"}, nil, emptyNat), nil); err == nil {
		t.Errorf("no bridge and no CNI: want a skip")
	}
}
