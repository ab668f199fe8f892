package dockerconf

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// logicalLine returns the byte range of the (1-based) line and the lines systemd
// continues it with: a line ending in an escaping backslash goes on with the next line,
// comment lines in between included (systemd skips them); a backslash followed by
// blanks does not continue.
func logicalLine(content string, line int) (int, int, error) {
	if line < 1 {
		return 0, 0, fmt.Errorf("no line number to edit")
	}
	start := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(content[start:], '\n')
		if i < 0 {
			return 0, 0, fmt.Errorf("line %d is past the end of the file", line)
		}
		start += i + 1
	}
	end := start
	continued := false
	for {
		i := strings.IndexByte(content[end:], '\n')
		if i < 0 {
			return start, len(content), nil
		}
		seg := strings.TrimSuffix(content[end:end+i], "\r")
		end += i
		if t := strings.TrimLeft(seg, sdWhitespace); continued && t != "" && (t[0] == '#' || t[0] == ';') {
			end++
			continue
		}
		if !endsEscaped(seg) {
			return start, end, nil
		}
		continued = true
		end++
	}
}

// tokenPattern matches the words as a sequence separated by blanks, standing alone
// (bounded by blanks, quotes, '=' or the line's ends).
func tokenPattern(words []string) *regexp.Regexp {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(^|[\s"'=])(` + strings.Join(q, `(?:\s|\\\n)+`) + `)([\s"']|\\|$)`)
}

// wordMatches returns the matches of words on a logical line that are not on a comment
// line inside it (systemd skips those).
func wordMatches(seg string, words []string) [][]int {
	var out [][]int
	for _, m := range tokenPattern(words).FindAllStringSubmatchIndex(seg, -1) {
		ls := strings.LastIndexByte(seg[:m[4]], '\n') + 1
		if t := strings.TrimLeft(seg[ls:], sdWhitespace); ls > 0 && t != "" && (t[0] == '#' || t[0] == ';') {
			continue
		}
		out = append(out, m)
	}
	return out
}

// wordsOn finds the words on logical line of content: the line's bounds in
// content and the matches of the words on it (never none: that is an error).
func wordsOn(content string, line int, words []string) (start, end int, ms [][]int, err error) {
	start, end, err = logicalLine(content, line)
	if err != nil {
		return 0, 0, nil, err
	}
	if ms = wordMatches(content[start:end], words); ms == nil {
		return 0, 0, nil, fmt.Errorf("line %d does not contain %q", line, strings.Join(words, " "))
	}
	return start, end, ms, nil
}

// RemoveWords removes the words (one occurrence, as a sequence) from the logical line,
// together with the blank before them.
func RemoveWords(content string, line int, words []string) (string, error) {
	start, end, ms, err := wordsOn(content, line, words)
	if err != nil {
		return "", err
	}
	seg := content[start:end]
	from, to := ms[0][4], ms[0][5]
	// Eat the blanks before (or, at the start of a value, after) the words.
	if from > 0 && (seg[from-1] == ' ' || seg[from-1] == '\t') {
		for from > 0 && (seg[from-1] == ' ' || seg[from-1] == '\t') {
			from--
		}
	} else {
		for to < len(seg) && (seg[to] == ' ' || seg[to] == '\t') {
			to++
		}
	}
	return content[:start] + seg[:from] + seg[to:] + content[end:], nil
}

// InsertAfterWords inserts " text" right after the words on the logical line.
func InsertAfterWords(content string, line int, words []string, text string) (string, error) {
	start, _, ms, err := wordsOn(content, line, words)
	if err != nil {
		return "", err
	}
	at := start + ms[len(ms)-1][5]
	return content[:at] + " " + text + content[at:], nil
}

// ReplaceWords replaces the words (one occurrence) on the logical line with repl.
func ReplaceWords(content string, line int, words []string, repl string) (string, error) {
	start, _, ms, err := wordsOn(content, line, words)
	if err != nil {
		return "", err
	}
	return content[:start+ms[0][4]] + repl + content[start+ms[0][5]:], nil
}

// Predict resolves the configuration as it would be with edits (node path → new content)
// applied to the files recorded in facts. It does no I/O.
func Predict(facts *diag.DockerConfFacts, edits map[string]string) *diag.DockerConfFacts {
	v, _ := ParseVersion(facts.DockerdVersion)
	p := ResolveFor(overlay(facts, edits), nil, v)
	p.DockerdVersionSource = facts.DockerdVersionSource
	return p
}

func overlay(facts *diag.DockerConfFacts, edits map[string]string) fs.FS {
	m := memFS{}
	for _, f := range facts.Files {
		if f.Exists {
			m[strings.TrimPrefix(f.Path, "/")] = memFile{data: []byte(f.Content), mode: fs.FileMode(f.Mode)}
		}
	}
	for p, c := range edits {
		m[strings.TrimPrefix(p, "/")] = memFile{data: []byte(c), mode: 0o644}
	}
	return m
}
