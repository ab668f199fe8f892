package netpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/iptsave"
)

// cond is one match option: a generic one (-s, -d, -i, -o, -p, -f: module
// "") or a module's ("--dport" of "tcp"), negated or not, with its values.
type cond struct {
	module string
	opt    string // "" marks where "-m module" itself stands
	neg    bool
	args   []string
	inst   int    // which "-m" instance of the rule the option belongs to
	limit  string // addrtype: "in" or "out" for the instance's --limit-iface-in/out
	opts   []string
}

// rule is a parsed rule spec.
type rule struct {
	conds      []cond
	target     string
	goto_      bool
	targetArgs []string
	err        error
}

// generic options and how many values they take.
var generic = map[string]string{
	"-s": "-s", "--source": "-s", "--src": "-s",
	"-d": "-d", "--destination": "-d", "--dst": "-d",
	"-i": "-i", "--in-interface": "-i",
	"-o": "-o", "--out-interface": "-o",
	"-p": "-p", "--protocol": "-p",
}

// rule parses spec once per node.
func (nd *Node) rule(spec string) *rule {
	if r, ok := nd.parsed[spec]; ok {
		return r
	}
	r := parseRule(spec)
	nd.parsed[spec] = r
	return r
}

// parseRule splits a rule spec into conditions and a target.
func parseRule(spec string) *rule {
	r := &rule{}
	toks, err := iptsave.Tokenize(spec)
	if err != nil {
		r.err = err
		return r
	}
	module, neg, inst := "", false, 0
	defer finish(r)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "!":
			neg = true
			continue
		case t == "-m" || t == "--match":
			if i+1 >= len(toks) {
				r.err = fmt.Errorf("%s without a module", t)
				return r
			}
			module = toks[i+1]
			inst++
			r.conds = append(r.conds, cond{module: module, inst: inst})
			i++
		case t == "-j" || t == "--jump" || t == "-g" || t == "--goto":
			if i+1 >= len(toks) {
				r.err = fmt.Errorf("%s without a target", t)
				return r
			}
			r.target, r.goto_, r.targetArgs = toks[i+1], t == "-g" || t == "--goto", toks[i+2:]
			return r
		case t == "-f" || t == "--fragment":
			r.conds = append(r.conds, cond{opt: "-f", neg: neg})
		case t == "-c" || t == "--set-counters":
			i += 2
		case generic[t] != "":
			if i+1 >= len(toks) {
				r.err = fmt.Errorf("%s without a value", t)
				return r
			}
			v := toks[i+1]
			i++
			if v == "!" && i+1 < len(toks) { // old "-s ! ADDR"
				neg, v = true, toks[i+1]
				i++
			}
			r.conds = append(r.conds, cond{opt: generic[t], neg: neg, args: []string{v}})
			if generic[t] == "-p" && module == "" {
				module = strings.ToLower(v)
			}
		case strings.HasPrefix(t, "--"):
			c := cond{module: module, opt: t, neg: neg, inst: inst}
			for i+1 < len(toks) && !isOption(toks[i+1]) {
				if toks[i+1] == "!" { // old "--dport ! 80"
					if i+2 < len(toks) && !isOption(toks[i+2]) && len(c.args) == 0 {
						c.neg = true
						i++
						continue
					}
					break
				}
				c.args = append(c.args, toks[i+1])
				i++
			}
			r.conds = append(r.conds, c)
		default:
			r.err = fmt.Errorf("unexpected word %q", t)
			return r
		}
		neg = false
	}
	return r
}

// finish gives each module marker the option names of its instance and
// each addrtype type option the instance's interface limit.
func finish(r *rule) {
	for i := range r.conds {
		m := &r.conds[i]
		if m.opt != "" || m.module == "" {
			continue
		}
		for j := range r.conds {
			c := r.conds[j]
			if c.inst == m.inst && c.opt != "" {
				m.opts = append(m.opts, c.opt)
				if c.opt == "--limit-iface-in" || c.opt == "--limit-iface-out" {
					// A flag: the check is limited to the packet's own
					// input (or output) interface.
					for k := range r.conds {
						if r.conds[k].inst == m.inst {
							r.conds[k].limit = strings.TrimPrefix(c.opt, "--limit-iface-")
						}
					}
				}
			}
		}
	}
}

// isOption reports whether a token starts an option rather than being a
// value ("-1" and "-" are values).
func isOption(t string) bool {
	if len(t) < 2 || t[0] != '-' {
		return false
	}
	_, err := strconv.Atoi(t)
	return err != nil
}

// targetOpt returns the value of the first of names among the target's
// options.
func (r *rule) targetOpt(names ...string) string {
	for i, a := range r.targetArgs {
		for _, n := range names {
			if a == n && i+1 < len(r.targetArgs) {
				return r.targetArgs[i+1]
			}
		}
	}
	return ""
}

func (r *rule) hasTargetOpt(name string) bool {
	for _, a := range r.targetArgs {
		if a == name {
			return true
		}
	}
	return false
}

// parseMark reads "0x4000/0x4000" or "16384" (mask all ones by default).
func parseMark(s string) (val, mask uint32, err error) {
	v, m, hasMask := strings.Cut(s, "/")
	a, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("bad mark %q", s)
	}
	mask = 0xffffffff
	if hasMask {
		b, err := strconv.ParseUint(m, 0, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("bad mark mask %q", s)
		}
		mask = uint32(b)
	}
	return uint32(a), mask, nil
}

// markOp applies one of the value operations MARK and CONNMARK share
// (--set-xmark, --set-mark, --or-mark, --and-mark, --xor-mark) with value v
// and mask m to cur; ok is false for any other option.
func markOp(op string, cur, v, m uint32) (_ uint32, ok bool) {
	switch op {
	case "--set-xmark":
		return (cur &^ m) ^ v, true
	case "--set-mark":
		return (cur &^ m) | v, true
	case "--or-mark":
		return cur | v, true
	case "--and-mark":
		return cur & v, true
	case "--xor-mark":
		return cur ^ v, true
	}
	return cur, false
}

// applyMark applies a MARK target's options to the packet mark.
func applyMark(mark uint32, args []string) (uint32, error) {
	for i := 0; i+1 < len(args); i += 2 {
		v, m, err := parseMark(args[i+1])
		if err != nil {
			return 0, err
		}
		var ok bool
		if mark, ok = markOp(args[i], mark, v, m); !ok {
			return 0, fmt.Errorf("MARK option %s is not understood", args[i])
		}
	}
	return mark, nil
}

// applyConnmark applies a CONNMARK target's options.
func applyConnmark(mark, ct uint32, args []string) (uint32, uint32, error) {
	nfmask, ctmask := uint32(0xffffffff), uint32(0xffffffff)
	op := ""
	var val, vmask uint32
	for i := 0; i < len(args); i++ {
		a := args[i]
		arg := ""
		if i+1 < len(args) {
			arg = args[i+1]
		}
		switch a {
		case "--save-mark", "--restore-mark":
			op = a
			continue
		case "--set-xmark", "--set-mark", "--or-mark", "--and-mark", "--xor-mark":
			v, m, err := parseMark(arg)
			if err != nil {
				return 0, 0, err
			}
			op, val, vmask = a, v, m
		case "--nfmask", "--ctmask", "--mask":
			v, _, err := parseMark(arg)
			if err != nil {
				return 0, 0, err
			}
			if a != "--ctmask" {
				nfmask = v
			}
			if a != "--nfmask" {
				ctmask = v
			}
		default:
			return 0, 0, fmt.Errorf("CONNMARK option %s is not understood", a)
		}
		i++
	}
	switch op {
	case "--save-mark":
		ct = (ct &^ ctmask) ^ (mark & nfmask)
	case "--restore-mark":
		mark = (mark &^ nfmask) ^ (ct & ctmask)
	default:
		var ok bool
		if ct, ok = markOp(op, ct, val, vmask); !ok {
			return 0, 0, fmt.Errorf("CONNMARK without an operation")
		}
	}
	return mark, ct, nil
}
