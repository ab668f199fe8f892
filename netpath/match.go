package netpath

import (
	"net/netip"
	"strconv"
	"strings"
)

// tri is a match's answer: yes, no, or maybe (cannot be evaluated).
type tri int

const (
	no tri = iota
	yes
	maybe
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// match evaluates every condition of a rule: a definite "no" anywhere
// wins; else any "maybe" makes the rule maybe, with the first reason.
func (nd *Node) match(r *rule, st *state) (tri, string) {
	if r.err != nil {
		return maybe, "the rule cannot be read: " + r.err.Error()
	}
	out, why := yes, ""
	for _, c := range r.conds {
		v, w := nd.cond(c, st)
		if v == maybe {
			if out == yes {
				why = w
			}
			out = maybe
			continue
		}
		if c.neg {
			v = 1 - v
		}
		if v == no {
			return no, ""
		}
	}
	return out, why
}

// cond evaluates one condition, without its negation.
func (nd *Node) cond(c cond, st *state) (tri, string) {
	p := st.pkt
	arg := ""
	if len(c.args) > 0 {
		arg = c.args[0]
	}
	unknown := func(why string) (tri, string) {
		what := strings.TrimSpace(modPrefix(c.module) + strings.TrimSpace(c.opt+" "+strings.Join(c.args, " ")))
		return maybe, what + ": " + why
	}
	switch c.module + " " + c.opt {
	case " -s":
		return addrIn(p.Src, arg, unknown)
	case " -d":
		return addrIn(p.Dst, arg, unknown)
	case " -i":
		return triOf(ifaceMatch(p.In, arg)), ""
	case " -o":
		return triOf(ifaceMatch(p.Out, arg)), ""
	case " -p":
		a := strings.ToLower(arg)
		return triOf(a == "all" || a == "0" || a == p.Proto || a == protoNumber[p.Proto]), ""
	case " -f":
		return no, "" // the packets walked are first fragments or whole
	}
	if c.opt == "" {
		return nd.moduleCond(c, st, unknown)
	}
	switch c.module {
	case "comment":
		return yes, ""
	case "tcp", "udp":
		return portCond(c, p, unknown)
	case "multiport":
		return multiportCond(c, p, unknown)
	case "addrtype":
		return nd.addrtypeCond(c, st, unknown)
	case "mark":
		if c.opt != "--mark" {
			return unknown("not understood")
		}
		v, m, err := parseMark(arg)
		if err != nil {
			return unknown(err.Error())
		}
		return triOf(st.mark&m == v), ""
	case "connmark":
		if c.opt != "--mark" {
			return unknown("not understood")
		}
		v, m, err := parseMark(arg)
		if err != nil {
			return unknown(err.Error())
		}
		return triOf(st.ctmark&m == v), ""
	case "conntrack", "state":
		return ctCond(c, st, unknown)
	case "set":
		return nd.setCond(c, st, unknown)
	case "iprange":
		a := p.Src
		if c.opt == "--dst-range" {
			a = p.Dst
		} else if c.opt != "--src-range" {
			return unknown("not understood")
		}
		lo, hi, ok := strings.Cut(arg, "-")
		l, e1 := netip.ParseAddr(lo)
		h, e2 := netip.ParseAddr(hi)
		if !ok || e1 != nil || e2 != nil {
			return unknown("bad range")
		}
		return triOf(l.Compare(a) <= 0 && a.Compare(h) <= 0), ""
	case "pkttype":
		if c.opt == "--pkt-type" {
			return triOf(arg == "unicast" && !p.Dst.IsMulticast() && len(nd.bcast[p.Dst]) == 0), ""
		}
	case "policy":
		if c.opt == "--dir" || c.opt == "--strict" {
			return yes, ""
		}
		if c.opt == "--pol" {
			return triOf(arg == "none"), "" // no IPsec on the walked packet
		}
	case "rpfilter":
		return nd.rpfilterCond(c, st, unknown)
	case "icmp":
		return triOf(p.Proto == "icmp" && arg == "any"), ""
	}
	return unknown("the walker cannot evaluate this match")
}

func modPrefix(m string) string {
	if m == "" {
		return ""
	}
	return "-m " + m + " "
}

var protoNumber = map[string]string{"tcp": "6", "udp": "17", "icmp": "1"}

// addrIn matches an address against "10.0.0.0/8", "10.0.0.1/255.0.0.0", a
// bare address or a comma list of those.
func addrIn(a netip.Addr, list string, unknown func(string) (tri, string)) (tri, string) {
	for _, s := range strings.Split(list, ",") {
		p, ok := parseNet(s)
		if !ok {
			return unknown("not an address")
		}
		if p.Contains(a) {
			return yes, ""
		}
	}
	return no, ""
}

// parseNet reads a prefix, an address, or an address with a dotted mask.
func parseNet(s string) (netip.Prefix, bool) {
	if addr, mask, ok := strings.Cut(s, "/"); ok && strings.Contains(mask, ".") {
		a, err1 := netip.ParseAddr(addr)
		m, err2 := netip.ParseAddr(mask)
		if err1 != nil || err2 != nil || !m.Is4() {
			return netip.Prefix{}, false
		}
		mb := m.As4()
		v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		bits := 0
		for v&0x80000000 != 0 {
			bits++
			v <<= 1
		}
		if v != 0 { // a non-contiguous mask
			return netip.Prefix{}, false
		}
		p, err := a.Prefix(bits)
		return p, err == nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// ifaceMatch matches an interface name; a trailing "+" matches a prefix.
func ifaceMatch(name, pat string) bool {
	if p, ok := strings.CutSuffix(pat, "+"); ok {
		return strings.HasPrefix(name, p)
	}
	return name == pat
}

func portCond(c cond, p Packet, unknown func(string) (tri, string)) (tri, string) {
	if c.module != p.Proto {
		return no, "" // -p already failed; a tcp option never matches udp
	}
	switch c.opt {
	case "--dport", "--destination-port":
		return portIn(p.DPort, c.args, unknown)
	case "--sport", "--source-port":
		return portIn(p.SPort, c.args, unknown)
	case "--syn":
		return triOf(!p.Reply), ""
	case "--tcp-flags":
		if len(c.args) != 2 {
			return unknown("bad flags")
		}
		set := map[string]bool{"SYN": true}
		if p.Reply {
			set["ACK"] = true
		}
		mask, comp := flagList(c.args[0]), flagList(c.args[1])
		for f := range mask {
			if set[f] != comp[f] {
				return no, ""
			}
		}
		return yes, ""
	}
	return unknown("not understood")
}

func flagList(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f == "ALL" {
			for _, g := range []string{"SYN", "ACK", "FIN", "RST", "URG", "PSH", "ECE", "CWR"} {
				out[g] = true
			}
			continue
		}
		if f != "NONE" {
			out[f] = true
		}
	}
	return out
}

func portIn(port int, args []string, unknown func(string) (tri, string)) (tri, string) {
	if len(args) != 1 {
		return unknown("bad port")
	}
	for _, s := range strings.Split(args[0], ",") {
		lo, hi, rng := strings.Cut(s, ":")
		l, err := strconv.Atoi(lo)
		if lo == "" {
			l, err = 0, nil
		}
		if err != nil {
			if pn, ok := servicePorts[lo]; ok && !rng {
				l = pn
			} else {
				return unknown("port " + s + " is not a number")
			}
		}
		h := l
		if rng {
			if hi == "" {
				h = 65535
			} else if h, err = strconv.Atoi(hi); err != nil {
				return unknown("port " + s + " is not a number")
			}
		}
		if l <= port && port <= h {
			return yes, ""
		}
	}
	return no, ""
}

var servicePorts = map[string]int{"domain": 53, "http": 80, "https": 443, "ssh": 22}

func multiportCond(c cond, p Packet, unknown func(string) (tri, string)) (tri, string) {
	if p.Proto != "tcp" && p.Proto != "udp" {
		return no, ""
	}
	switch c.opt {
	case "--dports", "--destination-ports":
		return portIn(p.DPort, c.args, unknown)
	case "--sports", "--source-ports":
		return portIn(p.SPort, c.args, unknown)
	case "--ports":
		if v, w := portIn(p.DPort, c.args, unknown); v != no {
			return v, w
		}
		return portIn(p.SPort, c.args, unknown)
	}
	return unknown("not understood")
}

// ctCond evaluates -m conntrack and -m state for a NEW first packet or an
// ESTABLISHED reply.
func ctCond(c cond, st *state, unknown func(string) (tri, string)) (tri, string) {
	switch c.opt {
	case "--ctstate", "--state":
		cur := "NEW"
		if st.pkt.Reply {
			cur = "ESTABLISHED"
		}
		if st.untracked {
			cur = "UNTRACKED"
		}
		for _, s := range strings.Split(strings.Join(c.args, ","), ",") {
			switch s {
			case cur:
				return yes, ""
			case "DNAT":
				if st.dnat {
					return yes, ""
				}
			case "SNAT":
				if st.pkt.Reply {
					return unknown("whether the connection was source-NATed")
				}
			}
		}
		return no, ""
	case "--ctdir":
		want := "ORIGINAL"
		if st.pkt.Reply {
			want = "REPLY"
		}
		return triOf(strings.EqualFold(strings.Join(c.args, ""), want)), ""
	case "--ctorigsrc", "--ctorigdst":
		if st.pkt.Reply {
			return unknown("the original direction of a reply")
		}
		a := st.pkt.Src
		if c.opt == "--ctorigdst" {
			a = st.pkt.Dst
		}
		return addrIn(a, strings.Join(c.args, ""), unknown)
	case "--ctproto":
		return triOf(strings.EqualFold(strings.Join(c.args, ""), st.pkt.Proto)), ""
	}
	return unknown("not understood")
}

// addrtypeCond evaluates -m addrtype: LOCAL from the node's addresses,
// BROADCAST from its subnets, MULTICAST and UNSPEC from the address;
// anything else routable is UNICAST. Route types (BLACKHOLE, …) are not
// known.
func (nd *Node) addrtypeCond(c cond, st *state, unknown func(string) (tri, string)) (tri, string) {
	switch c.opt {
	case "--limit-iface-in", "--limit-iface-out":
		return yes, "" // applied with the type options below
	case "--src-type", "--dst-type":
	default:
		return unknown("not understood")
	}
	a, limit := st.pkt.Src, ""
	if c.opt == "--dst-type" {
		a = st.pkt.Dst
	}
	// --limit-iface-in/out of the same module instance restricts LOCAL and
	// BROADCAST to the addresses of the packet's input/output interface.
	switch c.limit {
	case "in":
		limit = st.pkt.In
	case "out":
		limit = st.pkt.Out
	}
	types := nd.addrTypes(a, limit)
	for _, t := range strings.Split(strings.Join(c.args, ","), ",") {
		switch t {
		case "LOCAL", "UNICAST", "BROADCAST", "MULTICAST", "UNSPEC":
			if types[t] {
				return yes, ""
			}
		default:
			return unknown("route type " + t + " is not known to the walker")
		}
	}
	return no, ""
}

// addrTypes lists the types of a, restricted to iface when set.
func (nd *Node) addrTypes(a netip.Addr, iface string) map[string]bool {
	on := func(ifs []string) bool {
		if iface == "" {
			return len(ifs) > 0
		}
		for _, i := range ifs {
			if i == iface {
				return true
			}
		}
		return false
	}
	t := map[string]bool{}
	switch {
	case a.IsUnspecified():
		t["UNSPEC"] = true
	case a.IsMulticast():
		t["MULTICAST"] = true
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || on(nd.bcast[a]):
		t["BROADCAST"] = true
	case a.IsLoopback() && (iface == "" || iface == "lo") || on(nd.local[a]):
		t["LOCAL"] = true
	default:
		t["UNICAST"] = true
	}
	return t
}

// rpfilterCond: the packet passes the reverse-path check when the route
// back to its source leaves through its input interface.
func (nd *Node) rpfilterCond(c cond, st *state, unknown func(string) (tri, string)) (tri, string) {
	switch c.opt {
	case "--loose", "--validmark", "--accept-local", "--invert":
		return yes, "" // judged with the module (moduleCond)
	}
	return unknown("not understood")
}

// known are the modules whose options the walker evaluates.
var known = map[string]bool{
	"comment": true, "tcp": true, "udp": true, "multiport": true, "addrtype": true,
	"mark": true, "connmark": true, "conntrack": true, "state": true, "set": true,
	"iprange": true, "pkttype": true, "policy": true, "icmp": true,
}

// moduleCond judges "-m module" itself: known modules match by their
// options; rpfilter matches when the packet passes the reverse-path check
// (or fails it, with --invert).
func (nd *Node) moduleCond(c cond, st *state, unknown func(string) (tri, string)) (tri, string) {
	switch {
	case c.module == "rpfilter":
		pass, ok := nd.rpPass(st.pkt)
		if !ok {
			return unknown("no route back to the source is known")
		}
		invert := false
		for _, o := range c.opts {
			invert = invert || o == "--invert"
		}
		return triOf(pass != invert), ""
	case known[c.module]:
		return yes, ""
	}
	return unknown("the walker cannot evaluate this match")
}

func (nd *Node) rpPass(p Packet) (bool, bool) {
	best, dev := -1, ""
	for _, r := range nd.routes {
		if r.dst.Contains(p.Src) && r.dst.Bits() > best {
			best, dev = r.dst.Bits(), r.dev
		}
	}
	if best < 0 {
		return false, false
	}
	return dev == p.In, true
}
