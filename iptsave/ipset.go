package iptsave

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// ParseIPSets reads "ipset save" output (create/add lines) or "ipset list"
// output (Name:/Type:/Header:/Members: blocks), whichever it is given. A
// line it cannot understand is reported and skipped; the sets read are
// kept.
func ParseIPSets(b []byte) ([]diag.IPSet, error) {
	var (
		sets    []diag.IPSet
		index   = map[string]int{}
		errs    Errors
		cur     = -1 // set being listed ("ipset list")
		members bool // inside a "Members:" block
		n       int
	)
	bad := func(text, why string) { errs.add(&LineError{Line: n, Text: text, Err: why}) }
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if members && !strings.HasPrefix(line, "Name:") {
			sets[cur].Members = append(sets[cur].Members, normMember(line))
			continue
		}
		members = false
		key, val, isList := strings.Cut(line, ":")
		if isList && !strings.ContainsAny(key, " \t") {
			val = strings.TrimSpace(val)
			switch key {
			case "Name":
				if val == "" {
					bad(line, "a set without a name")
					cur = -1
					continue
				}
				cur = addSet(&sets, index, val)
			case "Type":
				if cur >= 0 {
					sets[cur].Type = val
				}
			case "Header":
				if cur >= 0 {
					sets[cur].Options = val
				}
			case "Members":
				if cur < 0 {
					bad(line, "members before a set name")
					continue
				}
				members = true
			}
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && (f[0] == "create" || f[0] == "-N" || f[0] == "-exist" && f[1] == "create"):
			if f[0] == "-exist" {
				f = f[1:]
			}
			i := addSet(&sets, index, f[1])
			sets[i].Type = f[2]
			sets[i].Options = strings.Join(f[3:], " ")
		case len(f) >= 3 && (f[0] == "add" || f[0] == "-A"):
			i, ok := index[f[1]]
			if !ok {
				bad(line, "member of a set not created before")
				i = addSet(&sets, index, f[1])
			}
			sets[i].Members = append(sets[i].Members, normMember(strings.Join(f[2:], " ")))
		default:
			bad(line, "not an ipset save or list line")
		}
	}
	if err := sc.Err(); err != nil {
		errs.add(fmt.Errorf("after line %d: %w", n, err))
	}
	return sets, errs.err()
}

func addSet(sets *[]diag.IPSet, index map[string]int, name string) int {
	if i, ok := index[name]; ok {
		return i
	}
	index[name] = len(*sets)
	*sets = append(*sets, diag.IPSet{Name: name})
	return len(*sets) - 1
}

// normMember keeps a member's element and the nomatch flag, dropping
// per-entry options (timeout, packets, bytes, comment, skbinfo).
func normMember(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	for _, w := range f[1:] {
		if w == "nomatch" {
			return f[0] + " nomatch"
		}
	}
	return f[0]
}
