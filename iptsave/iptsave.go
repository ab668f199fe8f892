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

// MaxErrors is how many line errors a parse keeps; the rest are counted.
const MaxErrors = 20

// Errors is what Parse returns when lines could not be read: the first
// MaxErrors errors and how many more there were, so 300,000 bad lines make
// one short message, not megabytes.
type Errors struct {
	First []error
	More  int
}

func (e *Errors) Error() string {
	msgs := make([]string, 0, len(e.First)+1)
	for _, err := range e.First {
		msgs = append(msgs, err.Error())
	}
	if e.More > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", e.More))
	}
	return strings.Join(msgs, "\n")
}

// Unwrap gives the kept errors to errors.Is and errors.As.
func (e *Errors) Unwrap() []error { return e.First }

func (e *Errors) add(err error) {
	if len(e.First) < MaxErrors {
		e.First = append(e.First, err)
		return
	}
	e.More++
}

func (e *Errors) err() error {
	if len(e.First) == 0 {
		return nil
	}
	return e
}

// Parse reads iptables-save output. It returns every table it could read
// and, when some lines could not be read, an *Errors holding a *LineError
// for each of the first MaxErrors and the count of the rest; a table
// without COMMIT is kept but reported.
func Parse(r io.Reader) ([]diag.IPTable, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var (
		tables []diag.IPTable
		cur    *diag.IPTable
		index  map[string]int // chain name → index in cur.Chains
		errs   Errors
		n      int
	)
	bad := func(text, why string) { errs.add(&LineError{Line: n, Text: text, Err: why}) }
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
		errs.add(fmt.Errorf("after line %d: %w", n, err))
	}
	if cur != nil {
		errs.add(fmt.Errorf("table %s has no COMMIT", cur.Name))
		tables = append(tables, *cur)
	}
	return tables, errs.err()
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
	r.Spec = rest
	neg := false
	// Tokens are read one at a time without allocating (quoted ones aside):
	// only the matches before the target matter.
	next := func(i int) (string, int, error) { return nextToken(rest, i) }
	for i := 0; ; {
		t, j, err := next(i)
		if err != nil {
			return "", r, err
		}
		if j < 0 {
			return chain, r, nil
		}
		i = j
		if t == "!" {
			neg = true
			continue
		}
		val := func() string {
			v, k, err := next(i)
			if err != nil || k < 0 {
				return ""
			}
			i = k
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
			target, k, err := next(i)
			if err != nil {
				return "", r, err
			}
			if k < 0 {
				return "", r, errors.New(t + " without a target")
			}
			r.Goto = t == "-g" || t == "--goto"
			r.Target = target
			// The rest are the target's options, but a broken quote
			// there is still a broken rule.
			for k >= 0 {
				if _, k, err = next(k); err != nil {
					return "", r, err
				}
			}
			return chain, r, nil
		}
		neg = false
	}
}

// nextToken returns the token of s starting at or after i and the index
// after it, or next < 0 at the end. Unquoted tokens are substrings of s.
func nextToken(s string, i int) (tok string, next int, err error) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		return "", -1, nil
	}
	start := i
	for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '"' {
		i++
	}
	if i >= len(s) || s[i] != '"' {
		return s[start:i], i, nil
	}
	// A word with quotes: unescape into a new string.
	var b strings.Builder
	b.WriteString(s[start:i])
	q := false
	for ; i < len(s); i++ {
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
			q = true
		case c == ' ' || c == '\t':
			return b.String(), i, nil
		default:
			b.WriteByte(c)
		}
	}
	if q {
		return "", 0, errors.New("unterminated quote")
	}
	return b.String(), i, nil
}

// Tokenize splits a rule as iptables-save quotes it: words separated by
// blanks, double-quoted words with backslash escapes.
func Tokenize(s string) ([]string, error) {
	var out []string
	for i := 0; ; {
		t, j, err := nextToken(s, i)
		if err != nil {
			return nil, err
		}
		if j < 0 {
			return out, nil
		}
		out = append(out, t)
		i = j
	}
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
