// Package iptsave parses the output of iptables-save (one or several
// tables) into the snapshot's table, chain and rule model, and writes it
// back in the same format.
//
// Only the matches ksdoctor judges are lifted into fields (source,
// destination, interfaces, protocol, target); the whole rule is kept as
// Spec so nothing is lost.
package iptsave

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/ksdoctor/ksdoctor/diag"
)

// LineError is a line the parser could not understand. Parsing goes on
// past it.
type LineError struct {
	Line int
	Text string
	Err  string
}

func (e *LineError) Error() string {
	t := e.Text
	if len(t) > 80 {
		t = t[:80] + "…"
	}
	return fmt.Sprintf("line %d: %s: %q", e.Line, e.Err, t)
}

// maxLine bounds one line; kube-proxy rules are far shorter.
const maxLine = 1 << 20

// Parse reads iptables-save output. It returns every table it could read
// and, joined, an error for each line it could not (a *LineError each); a
// table without COMMIT is kept but reported.
func Parse(r io.Reader) ([]diag.IPTable, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var (
		tables []diag.IPTable
		cur    *diag.IPTable
		index  map[string]int // chain name → index in cur.Chains
		errs   []error
		n      int
	)
	bad := func(text, why string) { errs = append(errs, &LineError{Line: n, Text: text, Err: why}) }
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		switch {
		case line[0] == '*':
			if cur != nil {
				bad(line, "table "+cur.Name+" not committed before the next table")
				tables = append(tables, *cur)
			}
			name := strings.TrimSpace(line[1:])
			if name == "" || strings.ContainsAny(name, " \t") {
				bad(line, "bad table name")
				cur = nil
				continue
			}
			cur = &diag.IPTable{Name: name, Chains: []diag.IPChain{}}
			index = map[string]int{}
		case line == "COMMIT":
			if cur == nil {
				bad(line, "COMMIT outside a table")
				continue
			}
			tables = append(tables, *cur)
			cur = nil
		case cur == nil:
			bad(line, "outside a table")
		case line[0] == ':':
			f := strings.Fields(line[1:])
			if len(f) < 2 || f[0] == "" {
				bad(line, "bad chain declaration")
				continue
			}
			c := diag.IPChain{Name: f[0]}
			if f[1] != "-" {
				c.Policy = f[1]
			}
			if i, ok := index[c.Name]; ok {
				cur.Chains[i].Policy = c.Policy
				continue
			}
			index[c.Name] = len(cur.Chains)
			cur.Chains = append(cur.Chains, c)
		default:
			chain, rule, err := parseRule(line)
			if err != nil {
				bad(line, err.Error())
				continue
			}
			i, ok := index[chain]
			if !ok {
				// iptables-restore refuses this; keep the rule anyway.
				bad(line, "rule for undeclared chain "+chain)
				i = len(cur.Chains)
				index[chain] = i
				cur.Chains = append(cur.Chains, diag.IPChain{Name: chain})
			}
			cur.Chains[i].Rules = append(cur.Chains[i].Rules, rule)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("after line %d: %w", n, err))
	}
	if cur != nil {
		errs = append(errs, fmt.Errorf("table %s has no COMMIT", cur.Name))
		tables = append(tables, *cur)
	}
	return tables, errors.Join(errs...)
}

// ParseBytes is Parse on a byte slice.
func ParseBytes(b []byte) ([]diag.IPTable, error) { return Parse(bytes.NewReader(b)) }

// parseRule reads "-A CHAIN spec…" (optionally preceded by "[pkts:bytes]").
func parseRule(line string) (chain string, r diag.IPRule, err error) {
	if line[0] == '[' {
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return "", r, errors.New("unterminated counters")
		}
		line = strings.TrimSpace(line[end+1:])
	}
	rest, ok := strings.CutPrefix(line, "-A ")
	if !ok {
		rest, ok = strings.CutPrefix(line, "--append ")
	}
	if !ok {
		return "", r, errors.New("not a table, chain, rule or COMMIT line")
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	sp := strings.IndexFunc(rest, unicode.IsSpace)
	if sp < 0 {
		chain, rest = rest, ""
	} else {
		chain, rest = rest[:sp], strings.TrimLeftFunc(rest[sp:], unicode.IsSpace)
	}
	if chain == "" {
		return "", r, errors.New("rule without a chain")
	}
	toks, err := Tokenize(rest)
	if err != nil {
		return "", r, err
	}
	r.Spec = rest
	neg := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "!" {
			neg = true
			continue
		}
		val := func() string {
			if i+1 >= len(toks) {
				return ""
			}
			i++
			v := toks[i]
			if neg {
				v = "!" + v
			}
			return v
		}
		switch t {
		case "-s", "--source":
			r.Source = val()
		case "-d", "--destination":
			r.Dest = val()
		case "-i", "--in-interface":
			r.InIface = val()
		case "-o", "--out-interface":
			r.OutIface = val()
		case "-p", "--protocol":
			r.Protocol = val()
		case "-j", "--jump", "-g", "--goto":
			if i+1 >= len(toks) {
				return "", r, errors.New(t + " without a target")
			}
			r.Goto = t == "-g" || t == "--goto"
			r.Target = toks[i+1]
			return chain, r, nil // the rest are the target's options
		}
		neg = false
	}
	return chain, r, nil
}

// Tokenize splits a rule as iptables-save quotes it: words separated by
// blanks, double-quoted words with backslash escapes.
func Tokenize(s string) ([]string, error) {
	var (
		out []string
		b   strings.Builder
		in  bool // inside a word
		q   bool // inside quotes
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case q && c == '"':
			q = false
		case q:
			b.WriteByte(c)
		case c == '"':
			q, in = true, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if q {
		return nil, errors.New("unterminated quote")
	}
	if in {
		out = append(out, b.String())
	}
	return out, nil
}

// Write prints tables in iptables-save format (without counters), so
// that Parse(Write(t)) gives t back.
func Write(w io.Writer, tables []diag.IPTable) error {
	bw := bufio.NewWriter(w)
	for _, t := range tables {
		fmt.Fprintf(bw, "*%s\n", t.Name)
		for _, c := range t.Chains {
			p := c.Policy
			if p == "" {
				p = "-"
			}
			fmt.Fprintf(bw, ":%s %s [0:0]\n", c.Name, p)
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if r.Spec == "" {
					fmt.Fprintf(bw, "-A %s\n", c.Name)
				} else {
					fmt.Fprintf(bw, "-A %s %s\n", c.Name, r.Spec)
				}
			}
		}
		bw.WriteString("COMMIT\n")
	}
	return bw.Flush()
}

// CountRules counts the rules of every table.
func CountRules(tables []diag.IPTable) int {
	n := 0
	for _, t := range tables {
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}
