package dockerconf

import (
	"fmt"
	"strings"
)

// UnifiedDiff returns a unified diff (3 lines of context) from old to new, labelled with
// path; "" when they are equal. It is linear in the files' length for the edits ksdoctor
// plans (a few changed lines in a file of any size): see editScript.
func UnifiedDiff(path, old, new string) string {
	if old == new {
		return ""
	}
	a, b := splitLines(old), splitLines(new)
	ops := editScript(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", path, path)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(k-ctx, 0)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := ops[start].ai, ops[start].bi, 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range ops[start:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
			out.WriteByte('\n')
		}
		k = end
	}
	return out.String()
}

// op is one line of an edit script: kept (' '), removed ('-') or added ('+'), with the
// indexes in a and b it stands at.
type op struct {
	kind byte
	text string
	ai   int
	bi   int
}

// maxLCSCells bounds the table of the longest common subsequence of the changed middle
// (16 Mi cells, 64 MiB). A larger middle is shown as removed then added: still a correct
// diff, only not the shortest.
const maxLCSCells = 16 << 20

// editScript returns the edits from a to b. The common prefix and suffix are kept
// without a table (a planned edit changes a few lines of a file of any length); only the
// changed middle gets a longest-common-subsequence table, bounded by maxLCSCells.
func editScript(a, b []string) []op {
	n, m := len(a), len(b)
	pre := 0
	for pre < n && pre < m && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && a[n-1-suf] == b[m-1-suf] {
		suf++
	}
	ops := make([]op, 0, max(n, m)+1)
	for i := range pre {
		ops = append(ops, op{' ', a[i], i, i})
	}
	ma, mb := a[pre:n-suf], b[pre:m-suf]
	if len(ma)*len(mb) <= maxLCSCells {
		ops = append(ops, lcsScript(ma, mb, pre, pre)...)
	} else {
		for i, t := range ma {
			ops = append(ops, op{'-', t, pre + i, pre})
		}
		for j, t := range mb {
			ops = append(ops, op{'+', t, n - suf, pre + j})
		}
	}
	for k := range suf {
		i, j := n-suf+k, m-suf+k
		ops = append(ops, op{' ', a[i], i, j})
	}
	return ops
}

// lcsScript is the edit script of a to b from their longest common subsequence; ao and
// bo are the offsets of a and b in the whole files.
func lcsScript(a, b []string, ao, bo int) []op {
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], ao + i, bo + j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i], ao + i, bo + j})
			i++
		default:
			ops = append(ops, op{'+', b[j], ao + i, bo + j})
			j++
		}
	}
	return ops
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
