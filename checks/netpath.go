package checks

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/iptsave"
	"github.com/ksdoctor/ksdoctor/netpath"
)

// netFacts returns the network facts with the tables and ipsets parsed:
// a snapshot may carry a raw iptables-save dump and ipset list instead
// (IPTablesSave, IPSetSave). The snapshot itself is not changed.
func netFacts(n *diag.NetFacts) *diag.NetFacts {
	if n == nil || (len(n.Tables) > 0 || n.IPTablesSave == "") && (len(n.IPSets) > 0 || n.IPSetSave == "") {
		return n
	}
	c := *n
	if len(c.Tables) == 0 && c.IPTablesSave != "" {
		c.Tables, _ = iptsave.ParseBytes([]byte(c.IPTablesSave))
	}
	if len(c.IPSets) == 0 && c.IPSetSave != "" {
		c.IPSets, _ = iptsave.ParseIPSets([]byte(c.IPSetSave))
	}
	return &c
}

// natHooks are the hooks that can set marks or NAT on a forwarded packet,
// without the filter table (net.forward-policy-drop judges that).
var natHooks = []netpath.Hook{
	{Table: "raw", Chain: "PREROUTING"}, {Table: "mangle", Chain: "PREROUTING"}, {Table: "nat", Chain: "PREROUTING"},
	{Table: "mangle", Chain: "FORWARD"}, {Table: "mangle", Chain: "POSTROUTING"}, {Table: "nat", Chain: "POSTROUTING"},
}

// egress describes the packets a container on the bridge sends beyond the
// node: its first TCP packet and a DNS query over UDP.
type egress struct {
	packets []netpath.Packet
	out     string // the interface they leave through
	route   string
}

// containerEgress builds the packets from an address of subnet (not the
// bridge's own) to the probe target, or 1.1.1.1, leaving through the
// route to it (the default route's device).
func containerEgress(pass *diag.Pass, cfg *diag.Config, link *diag.NetLink, subnet netip.Prefix) (egress, error) {
	dst, port := netip.AddrFrom4([4]byte{1, 1, 1, 1}), 443
	if cfg != nil && cfg.Net.ProbeTarget != "" {
		if h, p, err := net.SplitHostPort(cfg.Net.ProbeTarget); err == nil {
			if a, err := netip.ParseAddr(h); err == nil && a.Is4() && !subnet.Contains(a) {
				dst = a
				if n, err := strconv.Atoi(p); err == nil {
					port = n
				}
			}
		}
	}
	src := subnet.Masked().Addr().Next()
	for taken := true; taken; {
		taken = false
		for _, a := range link.Addrs {
			if p, err := netip.ParsePrefix(a); err == nil && p.Addr() == src {
				src, taken = src.Next(), true
			}
		}
	}
	var out egress
	best := -1
	for _, r := range pass.Network().Routes {
		if p, ok := diag.ParsePrefix(r.Dst); ok && p.Contains(dst) && p.Bits() > best && r.Dev != "" {
			best, out.out, out.route = p.Bits(), r.Dev, routeString(r)
		}
	}
	if best < 0 {
		// No route to it: assume the first other interface up with an
		// address would carry it once routed, and say so.
		for _, l := range pass.Network().Links {
			if l.Up && l.Name != link.Name && l.Name != "lo" && l.Master == "" && len(l.Addrs) > 0 && l.Type != "bridge" {
				best, out.out = 0, l.Name
				out.route = fmt.Sprintf("no route to %s; assumed to leave through %s", dst, l.Name)
				break
			}
		}
	}
	if best < 0 {
		out.route = fmt.Sprintf("no route to %s and no uplink: walked with an unnamed out interface", dst)
	}
	if out.out == link.Name {
		return out, diag.Skip("the route to %s leaves through %s itself", dst, link.Name)
	}
	out.packets = []netpath.Packet{
		{Src: src, Dst: dst, Proto: "tcp", SPort: 40000, DPort: port, In: link.Name, Out: out.out},
		{Src: src, Dst: netip.AddrFrom4([4]byte{1, 1, 1, 1}), Proto: "udp", SPort: 40001, DPort: 53, In: link.Name, Out: out.out},
	}
	return out, nil
}

// natClass sorts a branch for the NAT question.
func natClass(b netpath.Branch) string {
	switch b.Outcome {
	case netpath.NAT:
		return "nat"
	case netpath.Passed:
		return "no-nat"
	case netpath.Unknown:
		return "unknown: " + b.Detail + " " + b.By.Rule
	}
	return string(b.Outcome) // dropped, rejected, local: nothing to NAT
}

// walked is one packet's walk and its verdict ("" when undecided).
type walked struct {
	res     netpath.Result
	verdict string
}

func walkAll(nd *netpath.Node, pkts []netpath.Packet, hooks []netpath.Hook, class func(netpath.Branch) string) []walked {
	out := make([]walked, 0, len(pkts))
	for _, p := range pkts {
		r := nd.Walk(p, hooks)
		v, _ := r.Decide(class)
		out = append(out, walked{res: r, verdict: v})
	}
	return out
}

// pathTable shows, for each packet, how its walk ends.
func pathTable(ws []walked) *diag.Table {
	t := &diag.Table{Columns: []string{"PACKET", "VERDICT", "DECIDED BY"}}
	for _, w := range ws {
		v := w.verdict
		if v == "" {
			v = "unknown"
		}
		by := "every rule passed it on (no NAT, policies ACCEPT)"
		if len(w.res.Branches) > 0 {
			b := w.res.Branches[0]
			if b.By.Rule != "" {
				by = b.By.String()
			}
			if w.verdict == "" {
				by = fmt.Sprintf("%d ways, depending on rules that cannot be evaluated", len(w.res.Branches))
			}
		}
		t.Rows = append(t.Rows, []string{w.res.Packet.String(), v, by})
	}
	return t
}

// traceTable lists the rules that matched on the first branch of a walk.
func traceTable(w walked) *diag.Table {
	t := &diag.Table{Columns: []string{"TABLE", "CHAIN", "RULE"}}
	if len(w.res.Branches) == 0 {
		return t
	}
	for _, s := range w.res.Branches[0].Trace {
		t.Rows = append(t.Rows, []string{s.Table, s.Chain, s.Rule})
	}
	return t
}

// pathUnknownFinding is the "cannot judge" verdict of check: info, with the
// rules whose matches could not be evaluated, and --probe to settle it.
func pathUnknownFinding(pass *diag.Pass, question string, ws []walked) (diag.Finding, error) {
	t := &diag.Table{Columns: []string{"PACKET", "RULE", "WHY IT CANNOT BE EVALUATED"}}
	var first string
	for _, w := range ws {
		if w.verdict != "" {
			continue
		}
		for _, b := range w.res.Branches {
			if b.Outcome == netpath.Unknown && len(b.Assumed) == 0 {
				t.Rows = append(t.Rows, []string{w.res.Packet.String(), b.By.String(), b.Detail})
			}
		}
		for _, a := range w.res.Undecided() {
			t.Rows = append(t.Rows, []string{w.res.Packet.String(), a.Step.String(), a.Why})
		}
	}
	if len(t.Rows) > 0 {
		first = t.Rows[0][1]
	}
	f := diag.Finding{
		ID:       pass.FindingID("unknown"),
		Severity: diag.Info,
		Title:    "Cannot tell " + question,
		Summary: "The answer depends on rules ksdoctor cannot evaluate from the dump (" + first + "). " +
			"Run `ksdoctor sweep --probe` to settle it with a real packet.",
		Explanation: "Each rule was tried both ways; the walks end differently, so no verdict is given rather than a false alarm or a silent pass.",
		Evidence: []diag.Evidence{
			{Label: "Walks", Table: pathTable(ws)},
			{Label: "Rules that decide it", Table: t},
		},
	}
	return f, fmt.Errorf("could not judge %s: it depends on %s", question, first)
}
