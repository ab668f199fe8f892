package checks

import (
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestBridgeNFCallIPTables(t *testing.T) {
	s := netSnap(t, append(slices.Clone(docker0Up), "veth1 veth up docker0"), nil, emptyNat)
	if bnf, err := NetBridgeNFCallIPTables.Judge(s, nil); err != nil || len(bnf) != 0 {
		t.Errorf("bridge-nf 1: %v, %v", ids(bnf), err)
	}
	s.Network.BridgeNFIP = diag.Sysctl{}
	bnf, _ := NetBridgeNFCallIPTables.Judge(s, nil)
	if len(bnf) != 1 || bnf[0].Title != "br_netfilter is not loaded" || len(bnf[0].Remediations) != 0 {
		t.Errorf("bridge-nf absent: %+v", bnf)
	}
	s.Network.BridgeNFIP = diag.Sysctl{Present: true, Value: "0"}
	if bnf, _ := NetBridgeNFCallIPTables.Judge(s, nil); len(bnf) != 1 || len(bnf[0].Remediations) != 1 {
		t.Errorf("bridge-nf 0: %+v", bnf)
	}
}
