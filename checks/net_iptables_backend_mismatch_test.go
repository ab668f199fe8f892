package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestIPTablesBackendMismatch(t *testing.T) {
	tests := []struct {
		name     string
		backends []diag.IPTablesBackend
		findings int
		err      bool
	}{
		{"rules in both", []diag.IPTablesBackend{{Name: "nft", Rules: 30}, {Name: "legacy", Rules: 2}}, 1, false},
		{"rules in one", []diag.IPTablesBackend{{Name: "nft", Rules: 30}, {Name: "legacy"}}, 0, false},
		{"the other unreadable", []diag.IPTablesBackend{{Name: "nft", Rules: 30}, {Name: "legacy", Error: "exit status 1"}}, 0, true},
		{"no backend read", nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := netSnap(t, docker0Up, nil, emptyNat)
			s.Network.Backends = tc.backends
			got, err := NetIPTablesBackendMismatch.Judge(s, nil)
			if len(got) != tc.findings || (err != nil) != tc.err {
				t.Errorf("findings %v, err %v; want %d findings, error %v", ids(got), err, tc.findings, tc.err)
			}
		})
	}
}
