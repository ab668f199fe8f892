package redact

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes what a terminal would act on visible: C0 controls (but
// newline and tab), DEL, C1 controls, bidirectional controls, line and
// paragraph separators and invalid UTF-8 are written as \xHH or \uHHHH.
// Node data (labels, names, file contents, errors) goes through Escape
// before any text, Markdown or terminal output, so a label holding
// "ESC]0;title BEL" cannot retitle the window or clear the screen.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unsafeRune(r, size):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r, size):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune tells whether r must be escaped.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r == utf8.RuneError && size == 1:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
		return true // bidirectional controls (Trojan Source)
	case r == 0x2028 || r == 0x2029:
		return true // line and paragraph separators
	}
	return false
}

// Line is Escape for text shown on one line: newlines and tabs are
// escaped too.
func Line(s string) string {
	s = Escape(s)
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}

// Text is what every output shows of a string from the node: secrets
// masked, then control characters made visible.
func Text(s string) string { return Escape(String(s)) }
