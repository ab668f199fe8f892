package dockerconf

import (
	"errors"
	"fmt"
	"strings"
)

// Word is one word of a command line or assignment list.
type Word struct {
	Text string
	// Raw is the word as written, quotes included.
	Raw string
	// Quoted is true when any part of the word was quoted.
	Quoted bool
}

// SplitWords splits s into words the way systemd splits ExecStart= and Environment= and a
// shell splits an unquoted variable: whitespace separates words, single and double quotes
// group (anywhere in a word), a backslash escapes the next character (outside single
// quotes). An unterminated quote is an error with the column where it opened.
func SplitWords(s string) ([]Word, error) {
	var (
		out     []Word
		cur     strings.Builder
		raw     strings.Builder
		inWord  bool
		quoted  bool
		quote   byte
		quoteAt int
	)
	flush := func() {
		if inWord {
			out = append(out, Word{Text: cur.String(), Raw: raw.String(), Quoted: quoted})
		}
		cur.Reset()
		raw.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			raw.WriteByte(c)
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			raw.WriteByte(c)
			if c == '"' {
				quote = 0
			} else if c == '\\' && i+1 < len(s) {
				i++
				raw.WriteByte(s[i])
				cur.WriteByte(unescape(s[i]))
			} else {
				cur.WriteByte(c)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\'' || c == '"':
			inWord, quoted = true, true
			quote, quoteAt = c, i
			raw.WriteByte(c)
		case c == '\\':
			inWord = true
			raw.WriteByte(c)
			if i+1 < len(s) {
				i++
				raw.WriteByte(s[i])
				cur.WriteByte(unescape(s[i]))
			}
		default:
			inWord = true
			raw.WriteByte(c)
			cur.WriteByte(c)
		}
	}
	if quote != 0 {
		return nil, &ColumnError{Column: quoteAt + 1, Err: fmt.Errorf("unterminated %c quote", quote)}
	}
	flush()
	return out, nil
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	}
	return c
}

// ColumnError is an error at a column (1-based) of a line.
type ColumnError struct {
	Column int
	Err    error
}

func (e *ColumnError) Error() string { return fmt.Sprintf("column %d: %v", e.Column, e.Err) }
func (e *ColumnError) Unwrap() error { return e.Err }

// errColumn returns the column of err, or 0.
func errColumn(err error) int {
	var ce *ColumnError
	if errors.As(err, &ce) {
		return ce.Column
	}
	return 0
}

// SplitOpts splits a DOCKER_OPTS-style value into words, shell-like.
func SplitOpts(s string) ([]string, error) {
	ws, err := SplitWords(s)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out, nil
}

// ParseEnvFile parses an EnvironmentFile= file as systemd does: KEY=VALUE lines, # and ;
// comments, optional quotes around the value, backslash line continuations.
func ParseEnvFile(data string) ([]EnvAssign, []LineError) {
	var out []EnvAssign
	var errs []LineError
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		l := strings.TrimSpace(lines[i])
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + strings.TrimSpace(lines[i])
		}
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		l = strings.TrimPrefix(l, "export ")
		k, v, ok := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			errs = append(errs, LineError{Line: lineNo, Column: 1, Err: fmt.Errorf("not a VAR=VALUE assignment: %q", truncate(l, 60))})
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			ws, err := SplitWords(v)
			if err != nil {
				errs = append(errs, LineError{Line: lineNo, Column: len(k) + 1 + errColumn(err), Err: err})
				continue
			}
			parts := make([]string, len(ws))
			for j, w := range ws {
				parts[j] = w.Text
			}
			v = strings.Join(parts, " ")
		}
		out = append(out, EnvAssign{Name: k, Value: v, Line: lineNo})
	}
	return out, errs
}

// EnvAssign is one VAR=VALUE with its line.
type EnvAssign struct {
	Name, Value string
	Line        int
}

// LineError is a parse error at a line and column.
type LineError struct {
	Line, Column int
	Err          error
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
