package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/iptsave"
)

// netSnap builds a snapshot from a few facts: links "name type up master
// addr,addr", routes "dst dev [via gw]", iptables-save text and dockerd args.
func netSnap(t *testing.T, links, routes []string, save string, args ...string) *diag.Snapshot {
	t.Helper()
	n := &diag.NetFacts{IPForward: diag.Sysctl{Present: true, Value: "1"}, BridgeNFIP: diag.Sysctl{Present: true, Value: "1"}, Backend: "nft"}
	for _, l := range links {
		f := strings.Fields(l)
		nl := diag.NetLink{Name: f[0], Type: f[1], Up: f[2] == "up"}
		if len(f) > 3 && f[3] != "-" {
			nl.Master = f[3]
		}
		if len(f) > 4 {
			nl.Addrs = strings.Split(f[4], ",")
		}
		n.Links = append(n.Links, nl)
	}
	for _, r := range routes {
		f := strings.Fields(r)
		nr := diag.NetRoute{Dst: f[0], Dev: f[1]}
		if len(f) > 2 {
			nr.Gateway = f[2]
		}
		n.Routes = append(n.Routes, nr)
	}
	ts, err := iptsave.ParseBytes([]byte(save))
	if err != nil {
		t.Fatalf("fixture rules: %v", err)
	}
	n.Tables = ts
	s := &diag.Snapshot{SchemaVersion: diag.SchemaVersion, Network: n, Sources: map[diag.Source]*diag.SourceStatus{
		diag.SourceNetwork: {OK: true}, diag.SourceDocker: {OK: true}}}
	s.Docker = &diag.DockerFacts{Reachable: true, BridgeSubnets: []string{"172.17.0.0/16"}}
	if len(args) > 0 {
		s.Dockerd = &diag.DockerdProcess{PID: 42, Args: args, Found: "pidfile /var/run/docker.pid"}
		s.Sources[diag.SourceDockerdProc] = &diag.SourceStatus{OK: true}
	}
	return s
}

const (
	emptyNat     = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
	dockerNat    = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
	kubeOnlyNat  = "*nat\n:POSTROUTING ACCEPT [0:0]\n:KUBE-POSTROUTING - [0:0]\n-A POSTROUTING -j KUBE-POSTROUTING\n-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MASQUERADE --random-fully\nCOMMIT\n"
	workaround   = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -d 10.0.0.0/8 -m addrtype ! --dst-type LOCAL -j MASQUERADE\nCOMMIT\n"
	otherSubnet  = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n"
	onlyTCP      = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 -p tcp -j MASQUERADE\nCOMMIT\n"
	viaUserChain = "*nat\n:POSTROUTING ACCEPT [0:0]\n:MY-NAT - [0:0]\n-A POSTROUTING -j MY-NAT\n-A MY-NAT -s 172.16.0.0/12 -j MASQUERADE\nCOMMIT\n"
)

var docker0Up = []string{"eth0 device up - 10.0.0.5/24", "docker0 bridge up - 172.17.0.1/16"}

func ids(fs []diag.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"="+string(f.Severity))
	}
	slices.Sort(out)
	return out
}
