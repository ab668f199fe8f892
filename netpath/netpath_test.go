package netpath

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/iptsave"
)

func node(t testing.TB, save, sets string) *Node {
	t.Helper()
	ts, err := iptsave.ParseBytes([]byte(save))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := iptsave.ParseIPSets([]byte(sets))
	if err != nil {
		t.Fatal(err)
	}
	return NewNode(&diag.NetFacts{Tables: ts, IPSets: ss, Links: []diag.NetLink{
		{Name: "eth0", Addrs: []string{"10.0.0.5/24"}}, {Name: "docker0", Addrs: []string{"172.17.0.1/16"}},
		{Name: "vxlan.calico", Addrs: []string{"10.233.64.0/32"}},
	}, Routes: []diag.NetRoute{{Dst: "0.0.0.0/0", Dev: "eth0"}, {Dst: "172.17.0.0/16", Dev: "docker0"}}})
}

var out = Packet{Src: netip.MustParseAddr("172.17.0.2"), Dst: netip.MustParseAddr("1.1.1.1"), Proto: "tcp", SPort: 40000, DPort: 443, In: "docker0", Out: "eth0"}

var post = []Hook{{"raw", "PREROUTING"}, {"mangle", "PREROUTING"}, {"nat", "PREROUTING"}, {"nat", "POSTROUTING"}}

func class(b Branch) string {
	if b.Outcome == Unknown {
		return "unknown " + b.Detail
	}
	return string(b.Outcome)
}

const calicoNat = `*nat
:POSTROUTING ACCEPT [0:0]
:cali-POSTROUTING - [0:0]
:cali-nat-outgoing - [0:0]
-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING
-A cali-POSTROUTING -m comment --comment "cali:Z-c7XtVd2Bq7s_hA" -j cali-fip-snat
-A cali-POSTROUTING -m comment --comment "cali:nYKhEzDlr11Jccal" -j cali-nat-outgoing
-A cali-POSTROUTING -o vxlan.calico -m comment --comment "cali:e9dnSgSVNmIcpVhP" -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully
-A cali-nat-outgoing -m comment --comment "cali:flqWnvo8yq4ULQLa" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully
:cali-fip-snat - [0:0]
COMMIT
`

const calicoSets = "create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576\nadd cali40masq-ipam-pools 10.233.64.0/18\ncreate cali40all-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576\nadd cali40all-ipam-pools 10.233.64.0/18\n"

func TestWalk(t *testing.T) {
	flannel := "*nat\n:POSTROUTING ACCEPT [0:0]\n:FLANNEL-POSTRTG - [0:0]\n-A POSTROUTING -j FLANNEL-POSTRTG\n" +
		"-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -j RETURN\n-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/16 -j RETURN\n" +
		"-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully\n"
	docker := "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"
	tests := []struct {
		name, save, sets, want string
	}{
		{"calico, seed incident: no NAT", calicoNat, calicoSets, "passed"},
		{"calico with docker's rule", strings.Replace(calicoNat, "COMMIT", docker+"COMMIT", 1), calicoSets, "nat"},
		{"flannel RETURNs do not end the walk", flannel + docker + "COMMIT\n", "", "nat"},
		{"flannel alone: no NAT", flannel + "COMMIT\n", "", "passed"},
		{"mark set in mangle is seen in nat", "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i docker0 -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n" + flannel + "COMMIT\n", "", "passed"},
		{"NOTRACK skips nat", "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i docker0 -j CT --notrack\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n" + docker + "COMMIT\n", "", "passed"},
		{"goto then RETURN ends the built-in", "*nat\n:POSTROUTING ACCEPT [0:0]\n:X - [0:0]\n-A POSTROUTING -g X\n" + docker + "-A X -j RETURN\nCOMMIT\n", "", "passed"},
		{"jump then RETURN comes back", "*nat\n:POSTROUTING ACCEPT [0:0]\n:X - [0:0]\n-A POSTROUTING -j X\n" + docker + "-A X -j RETURN\nCOMMIT\n", "", "nat"},
		{"unknown match that matters", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m physdev --physdev-is-bridged -j RETURN\n" + docker + "COMMIT\n", "", ""},
		{"unknown match that does not matter", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m statistic --mode random --probability 0.5 -j LOG\n" + docker + "COMMIT\n", "", "nat"},
		{"set not gathered, matters", calicoNat, "", ""},
		{"hash:net nomatch", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m set --match-set S src -j MASQUERADE\nCOMMIT\n", "create S hash:net\nadd S 172.16.0.0/12\nadd S 172.17.0.0/16 nomatch\n", "passed"},
		{"list:set", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m set --match-set L src,dst -j MASQUERADE\nCOMMIT\n", "create A hash:ip,port\nadd A 1.1.1.1,udp:53\ncreate B hash:net\nadd B 172.17.0.0/16\ncreate L list:set\nadd L A\nadd L B\n", "nat"},
		{"addrtype LOCAL src is not the container", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m addrtype --src-type LOCAL -j MASQUERADE\nCOMMIT\n", "", "passed"},
		{"dst not local", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/255.255.0.0 -m addrtype ! --dst-type LOCAL -j MASQUERADE\nCOMMIT\n", "", "nat"},
		{"multiport and iprange", "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -p tcp -m multiport --dports 80,443 -m iprange --src-range 172.17.0.1-172.17.0.9 -j SNAT --to-source 10.0.0.5\nCOMMIT\n", "", "nat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := node(t, tc.save, tc.sets).Walk(out, post)
			got, _ := r.Decide(class)
			if got != tc.want {
				t.Errorf("got %q, want %q; branches %+v", got, tc.want, r.Branches)
			}
			if tc.want == "" && len(r.Undecided()) == 0 {
				t.Errorf("undecided without evidence")
			}
		})
	}
}

func TestForwardReject(t *testing.T) {
	save := "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n"
	nd := node(t, save, "")
	hooks := []Hook{{"filter", "FORWARD"}}
	if got, _ := nd.Walk(out, hooks).Decide(class); got != "rejected" {
		t.Errorf("outbound: %q", got)
	}
	reply := Packet{Src: out.Dst, Dst: out.Src, Proto: "tcp", SPort: 443, DPort: 40000, In: "eth0", Out: "docker0", Reply: true}
	if got, _ := nd.Walk(reply, hooks).Decide(class); got != "passed" {
		t.Errorf("reply: %q", got)
	}
}

func TestMarks(t *testing.T) {
	m, err := applyMark(0, []string{"--set-xmark", "0x4000/0x4000"})
	if err != nil || m != 0x4000 {
		t.Fatalf("set-xmark: %x %v", m, err)
	}
	m, ct, err := applyConnmark(0x4000, 0, []string{"--save-mark", "--nfmask", "0xffffffff", "--ctmask", "0xffffffff"})
	if err != nil || m != 0x4000 || ct != 0x4000 {
		t.Fatalf("save-mark: %x %x %v", m, ct, err)
	}
}

// FuzzWalk: any dump and ipset list walks without panicking, and every
// walk ends in at least one branch.
func FuzzWalk(f *testing.F) {
	f.Add(calicoNat, calicoSets)
	f.Add("*nat\n:POSTROUTING ACCEPT\n:X -\n-A POSTROUTING -g X\n-A X -j X\nCOMMIT\n", "")
	f.Add("*filter\n:FORWARD DROP\n-A FORWARD -m set --match-set L src -j ACCEPT\nCOMMIT\n", "create L list:set\nadd L L\n")
	f.Fuzz(func(t *testing.T, save, sets string) {
		ts, _ := iptsave.ParseBytes([]byte(save))
		ss, _ := iptsave.ParseIPSets([]byte(sets))
		nd := NewNode(&diag.NetFacts{Tables: ts, IPSets: ss})
		for _, p := range []Packet{out, {Src: out.Dst, Dst: out.Src, Proto: "udp", In: "eth0", Out: "docker0", Reply: true}} {
			if r := nd.Walk(p, Forward); len(r.Branches) == 0 {
				t.Fatal("a walk with no end")
			}
		}
	})
}

// kubeProxyDump builds a kube-proxy (iptables mode) nat table with n
// Services, each with a mark rule, a jump to its KUBE-SVC chain and two
// endpoints chosen by statistic, then Docker's MASQUERADE.
func kubeProxyDump(n int) string {
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ":KUBE-SVC-%d - [0:0]\n", i)
	}
	b.WriteString("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n")
	b.WriteString("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n")
	b.WriteString("-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n")
	b.WriteString("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n")
	b.WriteString("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MASQUERADE --random-fully\n")
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)
		fmt.Fprintf(&b, "-A KUBE-SERVICES ! -s 10.244.0.0/16 -d %s/32 -p tcp -m comment --comment \"ns/svc%d cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", ip, i)
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"ns/svc%d cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%d\n", ip, i, i)
		fmt.Fprintf(&b, "-A KUBE-SVC-%d -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.1.%d:80\n", i, i%250+1)
		fmt.Fprintf(&b, "-A KUBE-SVC-%d -j DNAT --to-destination 10.244.2.%d:80\n", i, i%250+1)
	}
	b.WriteString("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-POSTROUTING\nCOMMIT\n")
	return b.String()
}

// BenchmarkWalk walks a container's first packet through the nat table of a
// node with 5,000 kube-proxy Services (20,000 rules), parsing each rule
// once, as one check run does.
func BenchmarkWalk(b *testing.B) {
	ts, err := iptsave.ParseBytes([]byte(kubeProxyDump(5000)))
	if err != nil {
		b.Fatal(err)
	}
	facts := &diag.NetFacts{Tables: ts}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := NewNode(facts).Walk(out, post)
		if v, _ := r.Decide(class); v != "nat" {
			b.Fatalf("verdict %q", v)
		}
	}
}
