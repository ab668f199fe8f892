// Package netpath walks one packet through the node's iptables rules, rule
// by rule, the way the kernel does: the tables of each hook in the
// kernel's order (raw, mangle, nat PREROUTING; mangle, filter FORWARD;
// mangle, nat POSTROUTING), jumps, gotos, RETURN only when it matches,
// policies, and the marks that MARK and CONNMARK set along the way.
//
// A match it cannot evaluate (an unknown module, a set nobody gathered,
// a random statistic) is tried both ways; the result keeps every branch,
// so a caller can tell "every way ends the same" from "it depends on that
// rule", which it must then report as unknown with the rule as evidence.
//
// The package is pure: it reads the snapshot's facts, never the system.
package netpath

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Packet is the packet walked: the first packet of a connection (Reply
// false: conntrack state NEW) or a reply of an established one.
type Packet struct {
	Src, Dst     netip.Addr
	Proto        string // "tcp", "udp", "icmp"
	SPort, DPort int
	In, Out      string // input and output interfaces
	Reply        bool   // conntrack state ESTABLISHED, direction REPLY
}

func (p Packet) String() string {
	s := fmt.Sprintf("%s %s", p.Proto, p.Src)
	if p.SPort > 0 {
		s += fmt.Sprintf(":%d", p.SPort)
	}
	s += fmt.Sprintf(" → %s", p.Dst)
	if p.DPort > 0 {
		s += fmt.Sprintf(":%d", p.DPort)
	}
	s += fmt.Sprintf(" (in %s, out %s", orDash(p.In), orDash(p.Out))
	if p.Reply {
		s += ", reply"
	} else {
		s += ", new connection"
	}
	return s + ")"
}

// Hook is one chain of one table the packet traverses.
type Hook struct{ Table, Chain string }

// Forward lists the hooks of a packet routed through the node.
var Forward = []Hook{
	{"raw", "PREROUTING"}, {"mangle", "PREROUTING"}, {"nat", "PREROUTING"},
	{"mangle", "FORWARD"}, {"filter", "FORWARD"},
	{"mangle", "POSTROUTING"}, {"nat", "POSTROUTING"},
}

// Outcome is how a branch of the walk ends.
type Outcome string

// Outcomes.
const (
	Passed  Outcome = "passed"  // every hook let it through, no source NAT
	NAT     Outcome = "nat"     // MASQUERADE, SNAT or NETMAP in nat POSTROUTING
	Dropped Outcome = "dropped" // DROP (a rule or a policy)
	Reject  Outcome = "rejected"
	Local   Outcome = "local"   // REDIRECTed or DNATed to the node itself
	Unknown Outcome = "unknown" // a target or a depth the walker does not know
)

// Step is one rule (or policy) of the walk.
type Step struct {
	Table, Chain string
	Index        int    // 1-based rule number in Chain; 0 for a policy
	Rule         string // "-A CHAIN spec", or "policy DROP"
}

func (s Step) String() string {
	if s.Index == 0 {
		return fmt.Sprintf("%s %s %s", s.Table, s.Chain, s.Rule)
	}
	return fmt.Sprintf("%s: %s", s.Table, s.Rule)
}

// Assumption is a match the walker could not evaluate and assumed on one
// branch.
type Assumption struct {
	Step    Step
	Why     string // which match and why it cannot be evaluated
	Matched bool   // what this branch assumed
}

// Branch is one way the walk can end.
type Branch struct {
	Outcome Outcome
	By      Step // the rule or policy that decided (zero when every hook passed)
	Detail  string
	Assumed []Assumption
	// Trace lists the rules that matched on the way, in order.
	Trace        []Step
	Mark, CtMark uint32
	Untracked    bool
}

// Result holds every branch of a walk.
type Result struct {
	Packet   Packet
	Branches []Branch
}

// Decide classifies every branch; it returns the class when all agree,
// else ok is false.
func (r Result) Decide(class func(Branch) string) (string, bool) {
	if len(r.Branches) == 0 {
		return "", false
	}
	first := class(r.Branches[0])
	for _, b := range r.Branches[1:] {
		if class(b) != first {
			return "", false
		}
	}
	return first, true
}

// Undecided returns, once each, the rules whose matches could not be
// evaluated on any branch: the evidence for an "unknown" verdict.
func (r Result) Undecided() []Assumption {
	var out []Assumption
	seen := map[string]bool{}
	for _, b := range r.Branches {
		for _, a := range b.Assumed {
			k := a.Step.String() + a.Why
			if !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// Node is what the walker knows of the node.
type Node struct {
	tables  map[string]*diag.IPTable
	chains  map[string]map[string]*diag.IPChain // table → chain name → chain
	sets    map[string]*diag.IPSet
	local   map[netip.Addr][]string // address → interfaces holding it
	bcast   map[netip.Addr][]string
	routes  []route
	parsed  map[string]*rule
	setErr  string
	budget  int
	maxHops int
}

type route struct {
	dst netip.Prefix
	dev string
}

// NewNode indexes the facts the walker reads: the tables, the ipsets and
// the node's addresses (for -m addrtype LOCAL and BROADCAST) and routes
// (for -m rpfilter).
func NewNode(n *diag.NetFacts) *Node {
	nd := &Node{
		tables: map[string]*diag.IPTable{}, chains: map[string]map[string]*diag.IPChain{}, sets: map[string]*diag.IPSet{},
		local: map[netip.Addr][]string{}, bcast: map[netip.Addr][]string{},
		parsed: map[string]*rule{}, budget: 256, maxHops: 100000,
	}
	if n == nil {
		return nd
	}
	for i := range n.Tables {
		t := &n.Tables[i]
		nd.tables[t.Name] = t
		idx := make(map[string]*diag.IPChain, len(t.Chains))
		for j := range t.Chains {
			if _, dup := idx[t.Chains[j].Name]; !dup {
				idx[t.Chains[j].Name] = &t.Chains[j]
			}
		}
		nd.chains[t.Name] = idx
	}
	for i := range n.IPSets {
		nd.sets[n.IPSets[i].Name] = &n.IPSets[i]
	}
	nd.setErr = n.IPSetError
	for _, l := range n.Links {
		for _, a := range l.Addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				continue
			}
			nd.local[p.Addr()] = append(nd.local[p.Addr()], l.Name)
			if p.Addr().Is4() && p.Bits() < 31 {
				nd.bcast[lastAddr(p.Masked())] = append(nd.bcast[lastAddr(p.Masked())], l.Name)
			}
		}
	}
	for _, r := range n.Routes {
		if p, ok := diag.ParsePrefix(r.Dst); ok {
			nd.routes = append(nd.routes, route{p, r.Dev})
		}
	}
	return nd
}

// chain returns a chain of a table, or nil.
func (nd *Node) chain(table, name string) *diag.IPChain { return nd.chains[table][name] }

// HasTable reports whether the node's facts hold the table.
func (nd *Node) HasTable(name string) bool { return nd.tables[name] != nil }

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ruleText is a rule as iptables-save prints it.
func ruleText(chain string, r diag.IPRule) string {
	return strings.TrimSpace("-A " + chain + " " + r.Spec)
}
