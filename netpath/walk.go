package netpath

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

type frame struct {
	chain string
	idx   int
}

// state is one branch in progress.
type state struct {
	pkt          Packet
	mark, ctmark uint32
	untracked    bool
	dnat         bool
	hook         int
	stack        []frame // nil: the hook has not started
	force        *bool   // the decision for the next rule's unevaluable match
	assumed      []Assumption
	trace        []Step
	hops         int
}

func (s *state) clone() *state {
	c := *s
	c.stack = slices.Clone(s.stack)
	c.assumed = slices.Clone(s.assumed)
	c.trace = slices.Clone(s.trace)
	return &c
}

// Walk sends p through hooks and returns every way the walk can end.
func (nd *Node) Walk(p Packet, hooks []Hook) Result {
	budget := nd.budget
	res := Result{Packet: p}
	res.Branches = nd.run(&state{pkt: p}, hooks, &budget)
	return res
}

// run walks st to its end, forking at each unevaluable match.
func (nd *Node) run(st *state, hooks []Hook, budget *int) []Branch {
	for st.hook < len(hooks) {
		h := hooks[st.hook]
		t := nd.tables[h.Table]
		skipNat := h.Table == "nat" && (st.untracked || st.pkt.Reply)
		if t == nil || nd.chain(h.Table, h.Chain) == nil || skipNat {
			st.hook++
			st.stack = nil
			continue
		}
		if st.stack == nil {
			st.stack = []frame{{chain: h.Chain}}
		}
		end, fork := nd.stepHook(st, t, h, budget)
		switch {
		case fork != nil:
			return append(nd.run(fork[0], hooks, budget), nd.run(fork[1], hooks, budget)...)
		case end != nil:
			end.Assumed, end.Trace = st.assumed, st.trace
			end.Mark, end.CtMark, end.Untracked = st.mark, st.ctmark, st.untracked
			return []Branch{*end}
		}
		st.hook++
		st.stack = nil
	}
	return []Branch{{Outcome: Passed, Assumed: st.assumed, Trace: st.trace, Mark: st.mark, CtMark: st.ctmark, Untracked: st.untracked}}
}

// stepHook walks the current hook's chains. It returns nil, nil when the
// table lets the packet on to the next hook, a branch end, or two forks.
func (nd *Node) stepHook(st *state, t *diag.IPTable, h Hook, budget *int) (*Branch, []*state) {
	for len(st.stack) > 0 {
		st.hops++
		if st.hops > nd.maxHops || len(st.stack) > 64 {
			return &Branch{Outcome: Unknown, Detail: "the walk is too long (a loop of chains?)"}, nil
		}
		top := &st.stack[len(st.stack)-1]
		c := nd.chain(h.Table, top.chain)
		if c == nil || top.idx >= len(c.Rules) {
			if len(st.stack) > 1 {
				st.stack = st.stack[:len(st.stack)-1]
				continue
			}
			return nd.policy(st, t, h)
		}
		r := c.Rules[top.idx]
		pr := nd.rule(r.Spec)
		var m tri
		var why string
		if st.force != nil {
			m, st.force = triOf(*st.force), nil
		} else {
			m, why = nd.match(pr, st)
		}
		if m == no {
			top.idx++
			continue
		}
		step := Step{Table: h.Table, Chain: top.chain, Index: top.idx + 1, Rule: ruleText(top.chain, r)}
		if m == maybe {
			if *budget <= 0 {
				return &Branch{Outcome: Unknown, By: step, Detail: "too many rules that cannot be evaluated on the way"}, nil
			}
			*budget--
			yes, no := st.clone(), st.clone()
			tv, fv := true, false
			yes.force, no.force = &tv, &fv
			yes.assumed = append(yes.assumed, Assumption{Step: step, Why: why, Matched: true})
			no.assumed = append(no.assumed, Assumption{Step: step, Why: why, Matched: false})
			return nil, []*state{yes, no}
		}
		top.idx++
		st.trace = append(st.trace, step)
		if end, next := nd.target(st, t, h, pr, step); end != nil || !next {
			return end, nil
		}
	}
	return nil, nil
}

// policy ends a built-in chain.
func (nd *Node) policy(st *state, t *diag.IPTable, h Hook) (*Branch, []*state) {
	p := nd.chain(h.Table, h.Chain).Policy
	step := Step{Table: h.Table, Chain: h.Chain, Rule: "policy " + orDash(p)}
	switch p {
	case "DROP":
		st.trace = append(st.trace, step)
		return &Branch{Outcome: Dropped, By: step}, nil
	case "ACCEPT", "":
		return nil, nil
	}
	return &Branch{Outcome: Unknown, By: step, Detail: "unknown policy " + p}, nil
}

// nonTerminal are targets after which the packet goes on to the next rule.
var nonTerminal = map[string]bool{
	"LOG": true, "NFLOG": true, "ULOG": true, "TRACE": true, "TCPMSS": true, "CHECKSUM": true,
	"DSCP": true, "TOS": true, "TTL": true, "CLASSIFY": true, "SET": true, "AUDIT": true,
	"CONNSECMARK": true, "SECMARK": true, "HMARK": true, "IDLETIMER": true, "LED": true,
	"RATEEST": true, "TEE": true, "CT": true, "NOTRACK": true, "MARK": true, "CONNMARK": true,
	"NFACCT": true, "ECN": true, "HL": true, "TCPOPTSTRIP": true,
}

// target applies a matched rule's target. It returns a branch end, or
// next=true to go on walking this hook (false with a nil end: the table
// accepted, on to the next hook).
func (nd *Node) target(st *state, t *diag.IPTable, h Hook, pr *rule, step Step) (end *Branch, next bool) {
	top := &st.stack[len(st.stack)-1]
	switch tg := pr.target; {
	case tg == "":
		return nil, true
	case nd.chain(h.Table, tg) != nil && !nonTerminal[tg]:
		if pr.goto_ {
			if len(st.stack) == 1 {
				top.idx = len(nd.chain(h.Table, top.chain).Rules) // the built-in chain ends with the goto'd chain
				st.stack = append(st.stack, frame{chain: tg})
			} else {
				*top = frame{chain: tg}
			}
		} else {
			st.stack = append(st.stack, frame{chain: tg})
		}
		return nil, true
	case tg == "RETURN":
		if len(st.stack) == 1 {
			top.idx = len(nd.chain(h.Table, top.chain).Rules)
		} else {
			st.stack = st.stack[:len(st.stack)-1]
		}
		return nil, true
	case tg == "ACCEPT":
		return nil, false
	case tg == "DROP":
		return &Branch{Outcome: Dropped, By: step}, false
	case tg == "REJECT":
		return &Branch{Outcome: Reject, By: step}, false
	case tg == "MASQUERADE" || tg == "SNAT" || tg == "NETMAP" && h.Chain == "POSTROUTING":
		if h.Table != "nat" {
			return &Branch{Outcome: Unknown, By: step, Detail: tg + " outside the nat table"}, false
		}
		return &Branch{Outcome: NAT, By: step}, false
	case tg == "DNAT" || tg == "NETMAP":
		to := pr.targetOpt("--to-destination", "--to")
		if a, err := netip.ParseAddr(strings.SplitN(strings.SplitN(to, ":", 2)[0], "-", 2)[0]); err == nil && tg == "DNAT" {
			st.pkt.Dst, st.dnat = a, true
			if len(nd.local[a]) > 0 || a.IsLoopback() {
				return &Branch{Outcome: Local, By: step, Detail: "DNAT to the node's own address " + a.String()}, false
			}
			return nil, false
		}
		return &Branch{Outcome: Unknown, By: step, Detail: "the new destination cannot be read: " + to}, false
	case tg == "REDIRECT":
		return &Branch{Outcome: Local, By: step, Detail: "REDIRECT to the node itself"}, false
	case tg == "NOTRACK" || tg == "CT" && pr.hasTargetOpt("--notrack"):
		st.untracked = true
		return nil, true
	case tg == "MARK":
		m, err := applyMark(st.mark, pr.targetArgs)
		if err != nil {
			return &Branch{Outcome: Unknown, By: step, Detail: err.Error()}, false
		}
		st.mark = m
		return nil, true
	case tg == "CONNMARK":
		m, ct, err := applyConnmark(st.mark, st.ctmark, pr.targetArgs)
		if err != nil {
			return &Branch{Outcome: Unknown, By: step, Detail: err.Error()}, false
		}
		st.mark, st.ctmark = m, ct
		return nil, true
	case nonTerminal[tg]:
		return nil, true
	case tg == "NFQUEUE" || tg == "QUEUE":
		return &Branch{Outcome: Unknown, By: step, Detail: "handed to a userspace queue: " + tg}, false
	default:
		return &Branch{Outcome: Unknown, By: step, Detail: fmt.Sprintf("target %s is neither a chain of the %s table nor one the walker knows", tg, h.Table)}, false
	}
}
