package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestIPForwardDisabled(t *testing.T) {
	s := netSnap(t, append(slices.Clone(docker0Up), "veth1 veth up docker0"), nil, emptyNat)
	if fw, err := NetIPForwardDisabled.Judge(s, nil); err != nil || len(fw) != 0 {
		t.Errorf("ip_forward=1: %v, %v", ids(fw), err)
	}
	s.Network.IPForward = diag.Sysctl{Present: true, Value: "0"}
	s.Network.IPForwardConf = []diag.SysctlSetting{{File: "/etc/sysctl.conf", Line: 7, Value: "0"}}
	fw, _ := NetIPForwardDisabled.Judge(s, nil)
	if got := ids(fw); !slices.Equal(got, []string{"net.ip-forward-disabled=critical"}) {
		t.Fatalf("ip_forward: %v", got)
	}
	if rem := fw[0].Remediations[0]; !strings.Contains(rem.Preview, "/etc/sysctl.conf line 7 sets it to 0") || len(rem.Plan.Steps) != 2 || !rem.Plan.Transactional {
		t.Errorf("remediation %+v", rem)
	}
}
