package netpath

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// setCond evaluates -m set --match-set NAME FLAGS against the gathered
// ipsets. A set that was not gathered cannot be evaluated.
func (nd *Node) setCond(c cond, st *state, unknown func(string) (tri, string)) (tri, string) {
	switch c.opt {
	case "--match-set", "--set":
	case "--return-nomatch", "--update-counters", "--update-subcounters", "--packets-eq", "--packets-lt",
		"--packets-gt", "--bytes-eq", "--bytes-lt", "--bytes-gt":
		if strings.HasPrefix(c.opt, "--packets") || strings.HasPrefix(c.opt, "--bytes") {
			return unknown("counters are not known")
		}
		return yes, ""
	default:
		return unknown("not understood")
	}
	if len(c.args) != 2 {
		return unknown("want a set name and flags")
	}
	set := nd.sets[c.args[0]]
	if set == nil {
		why := "the set " + c.args[0] + " was not gathered"
		if nd.setErr != "" {
			why += " (" + nd.setErr + ")"
		}
		return unknown(why)
	}
	v, why := nd.inSet(set, strings.Split(c.args[1], ","), st.pkt, 0)
	if v == maybe {
		return unknown(why)
	}
	return v, ""
}

// inSet reports whether the packet's fields named by flags are a member of
// set. Of the members that match, the most specific decides: a nomatch
// entry excludes (hash:net's exceptions).
func (nd *Node) inSet(set *diag.IPSet, flags []string, p Packet, depth int) (tri, string) {
	typ, _, _ := strings.Cut(set.Type, " ")
	kind, dims, ok := strings.Cut(typ, ":")
	if !ok {
		return maybe, "set " + set.Name + " has no type"
	}
	if kind == "list" {
		if depth > 4 {
			return maybe, "list:set nested too deep"
		}
		for _, m := range set.Members {
			sub := nd.sets[strings.Fields(m + " x")[0]]
			if sub == nil {
				return maybe, "member set " + m + " of " + set.Name + " was not gathered"
			}
			if v, why := nd.inSet(sub, flags, p, depth+1); v != no {
				return v, why
			}
		}
		return no, ""
	}
	parts := strings.Split(dims, ",")
	if len(flags) < len(parts) {
		return maybe, "fewer flags than the dimensions of " + set.Type
	}
	best, bestNomatch := -1, false
	for _, m := range set.Members {
		elem, nomatch := strings.CutSuffix(m, " nomatch")
		spec, v, why := memberMatch(kind, parts, strings.Split(elem, ","), flags, p)
		if v == maybe {
			return maybe, set.Name + ": " + why
		}
		if v == yes && spec > best {
			best, bestNomatch = spec, nomatch
		}
	}
	return triOf(best >= 0 && !bestNomatch), ""
}

// memberMatch matches one member's fields against the packet, returning
// how specific it is (summed prefix lengths).
func memberMatch(kind string, parts, fields, flags []string, p Packet) (int, tri, string) {
	if len(fields) != len(parts) {
		return 0, maybe, "member " + strings.Join(fields, ",") + " does not fit the set's type"
	}
	spec := 0
	for i, part := range parts {
		src := flags[i] == "src"
		f := fields[i]
		switch part {
		case "ip", "net":
			a := p.Dst
			if src {
				a = p.Src
			}
			in, bits, ok := addrMember(f, a)
			if !ok {
				return 0, maybe, "member " + f + " is not an address"
			}
			if !in {
				return 0, no, ""
			}
			spec += bits
		case "port":
			port := p.DPort
			if src {
				port = p.SPort
			}
			in, ok := portMember(f, p.Proto, port, kind == "bitmap")
			if !ok {
				return 0, maybe, "member " + f + " is not a port"
			}
			if !in {
				return 0, no, ""
			}
		case "iface":
			name := p.Out
			if src {
				name = p.In
			}
			f = strings.TrimPrefix(f, "physdev:")
			if !ifaceMatch(name, f) {
				return 0, no, ""
			}
		default:
			return 0, maybe, "dimension " + part + " is not known to the walker"
		}
	}
	return spec, yes, ""
}

// addrMember matches an address against "10.0.0.1", "10.0.0.0/24" or
// "10.0.0.1-10.0.0.9".
func addrMember(f string, a netip.Addr) (in bool, bits int, ok bool) {
	if lo, hi, rng := strings.Cut(f, "-"); rng {
		l, e1 := netip.ParseAddr(lo)
		h, e2 := netip.ParseAddr(hi)
		if e1 != nil || e2 != nil {
			return false, 0, false
		}
		return l.Compare(a) <= 0 && a.Compare(h) <= 0, 32, true
	}
	p, ok := diag.ParsePrefix(f)
	if !ok {
		return false, 0, false
	}
	return p.Contains(a), p.Bits(), true
}

// portMember matches "tcp:443", "443" (tcp for hash types, any protocol for
// bitmap:port), "udp:30000-30010" or "icmp:…".
func portMember(f, proto string, port int, anyProto bool) (in, ok bool) {
	want := "tcp"
	if pr, rest, has := strings.Cut(f, ":"); has {
		want, f, anyProto = pr, rest, false
	}
	lo, hi, rng := strings.Cut(f, "-")
	l, err := strconv.Atoi(lo)
	if err != nil {
		return false, want != "tcp" && want != "udp" && want != "sctp" && want != "udplite"
	}
	h := l
	if rng {
		if h, err = strconv.Atoi(hi); err != nil {
			return false, false
		}
	}
	if !anyProto && want != proto {
		return false, true
	}
	return l <= port && port <= h, true
}
