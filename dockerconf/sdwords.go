package dockerconf

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Word splitting as systemd 252 does it (src/basic/extract-word.c,
// extract_first_word): whitespace separates words; single and double quotes
// group and may start anywhere in a word; a backslash escapes the next
// character inside and outside quotes alike (unlike a shell, also inside
// single quotes).

// extractFlags select extract_first_word's behaviour.
type extractFlags uint8

const (
	// exUnquote removes quotes (EXTRACT_UNQUOTE).
	exUnquote extractFlags = 1 << iota
	// exCUnescape decodes C escapes; an unknown escape is an error (EXTRACT_CUNESCAPE).
	exCUnescape
	// exRelax accepts an unterminated quote or a trailing backslash (EXTRACT_RELAX).
	exRelax
	// exUnescapeRelax keeps an unknown escape as written (EXTRACT_UNESCAPE_RELAX).
	exUnescapeRelax
)

// sdWhitespace is systemd's WHITESPACE.
const sdWhitespace = " \t\n\r"

// errSyntax is a word systemd cannot split (an unterminated quote, a bad escape).
var errSyntax = errors.New("invalid syntax")

// extractWord returns the first word of s and the rest after it. ok is false when s
// holds no more words. On error, rest is where the problem is.
func extractWord(s string, flags extractFlags) (word, rest string, ok bool, err error) {
	i := 0
	for i < len(s) && strings.IndexByte(sdWhitespace, s[i]) >= 0 {
		i++
	}
	if i == len(s) {
		return "", "", false, nil
	}
	var b strings.Builder
	var quote byte
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				if flags&exUnescapeRelax != 0 && quote == 0 {
					b.WriteByte('\\')
					return b.String(), "", true, nil
				}
				if flags&exRelax != 0 {
					return b.String(), "", true, nil
				}
				return "", s[i:], false, fmt.Errorf("%w: trailing backslash", errSyntax)
			}
			if flags&exCUnescape != 0 {
				n, err := cunescapeOne(s[i+1:], &b)
				if err != nil && flags&exUnescapeRelax != 0 {
					b.WriteByte('\\')
					b.WriteByte(s[i+1])
					n, err = 1, nil
				}
				if err != nil {
					return "", s[i:], false, err
				}
				i += 1 + n
				continue
			}
			b.WriteByte(s[i+1])
			i += 2
			continue
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case (c == '\'' || c == '"') && flags&exUnquote != 0:
			quote = c
		case strings.IndexByte(sdWhitespace, c) >= 0:
			j := i
			for j < len(s) && strings.IndexByte(sdWhitespace, s[j]) >= 0 {
				j++
			}
			return b.String(), s[j:], true, nil
		default:
			b.WriteByte(c)
		}
		i++
	}
	if quote != 0 && flags&exRelax == 0 {
		return "", "", false, fmt.Errorf("%w: unterminated %c quote", errSyntax, quote)
	}
	return b.String(), "", true, nil
}

// extractWordWarn is extract_first_word_and_warn: a word with an unknown escape is
// taken again with the escape kept as written (systemd warns "Ignoring unknown escape
// sequences").
func extractWordWarn(s string, flags extractFlags) (word, rest string, ok bool, err error) {
	word, rest, ok, err = extractWord(s, flags)
	if err != nil && flags&exCUnescape != 0 {
		return extractWord(s, flags|exUnescapeRelax)
	}
	return word, rest, ok, err
}

// splitWords splits all of s with extractWord.
func splitWords(s string, flags extractFlags) ([]string, error) {
	var out []string
	for {
		w, rest, ok, err := extractWord(s, flags)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, w)
		s = rest
	}
}

// cunescapeOne decodes the escape after a backslash (systemd's cunescape_one, NUL
// refused) into b and returns how many bytes of p it used.
func cunescapeOne(p string, b *strings.Builder) (int, error) {
	bad := func() (int, error) {
		return 0, fmt.Errorf("%w: bad escape \\%s", errSyntax, truncate(p, 1))
	}
	simple := map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
		'\\': '\\', '"': '"', '\'': '\'', 's': ' '}
	if c, ok := simple[p[0]]; ok {
		b.WriteByte(c)
		return 1, nil
	}
	switch p[0] {
	case 'x':
		v, ok := digits(p[1:], 2, 16)
		if !ok || v == 0 {
			return bad()
		}
		b.WriteByte(byte(v))
		return 3, nil
	case 'u', 'U':
		n := 4
		if p[0] == 'U' {
			n = 8
		}
		v, ok := digits(p[1:], n, 16)
		if !ok || v == 0 || !utf8.ValidRune(rune(v)) {
			return bad()
		}
		b.WriteRune(rune(v))
		return n + 1, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v, ok := digits(p, 3, 8)
		if !ok || v == 0 || v > 255 {
			return bad()
		}
		b.WriteByte(byte(v))
		return 3, nil
	}
	return bad()
}

// digits reads exactly n digits of base from s.
func digits(s string, n, base int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		d := strings.IndexByte("0123456789abcdef", lower(s[i]))
		if d < 0 || d >= base {
			return 0, false
		}
		v = v*base + d
	}
	return v, true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unitSpecifiers are the specifiers ksdoctor resolves for a system unit from the
// unit's own name and systemd's fixed directories; hostSpecifiers depend on the
// machine and are filled by the resolver from the host's files when it can.
func unitSpecifiers(name, fragment string) map[byte]string {
	prefix, _, _ := strings.Cut(strings.TrimSuffix(name, path2ext(name)), "@")
	return map[byte]string{
		'n': name, 'N': strings.TrimSuffix(name, path2ext(name)), 'p': prefix, 'P': prefix,
		'i': "", 'I': "", 'j': lastDash(prefix), 'J': lastDash(prefix), 'f': "/" + prefix,
		'y': fragment, 'Y': dirOf(fragment),
		'E': "/etc", 'S': "/var/lib", 'C': "/var/cache", 'L': "/var/log", 't': "/run", 'T': "/tmp", 'V': "/var/tmp",
		'u': "root", 'U': "0", 'g': "root", 'G': "0", 'h': "/root", 's': "/bin/sh",
		'd': "/run/credentials/" + name,
	}
}

// knownSpecifiers are every specifier systemd 252 knows in unit files; those
// without a value here are host facts ksdoctor does not resolve.
const knownSpecifiers = "nNpPiIjJfyYESCLtTVuUgGhsdaAbBHlmMovwW"

func path2ext(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

func lastDash(s string) string {
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}

// errSpecifier is a % specifier systemd does not know.
var errSpecifier = errors.New("unknown specifier")

// expandSpecifiers replaces %X specifiers in s (unit_full_printf). A specifier systemd
// knows but ksdoctor cannot resolve is kept as written and named in unresolved.
func expandSpecifiers(s string, spec map[byte]string) (out string, unresolved []string, err error) {
	if !strings.Contains(s, "%") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", nil, fmt.Errorf("%w: %% at the end", errSpecifier)
		}
		i++
		c := s[i]
		switch v, ok := spec[c]; {
		case c == '%':
			b.WriteByte('%')
		case ok:
			b.WriteString(v)
		case strings.IndexByte(knownSpecifiers, c) >= 0:
			b.WriteByte('%')
			b.WriteByte(c)
			unresolved = append(unresolved, "%"+string(c))
		default:
			return "", nil, fmt.Errorf("%w %%%c", errSpecifier, c)
		}
	}
	return b.String(), unresolved, nil
}

// envNameValid is systemd's env_name_is_valid: letters, digits and '_', not starting
// with a digit.
func envNameValid(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// envValueValid is systemd's env_value_is_valid: UTF-8 without control characters
// other than tab and newline.
func envValueValid(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return false
		}
	}
	return true
}

// replaceBraces replaces ${NAME} in s with the variable's value (systemd's
// replace_env without flags): "$$" is one "$", a bare $NAME inside a word stays as
// written, an unterminated ${ stays as written. It returns the names used.
func replaceBraces(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var used []string
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			if j := strings.IndexAny(s[i+2:], "}:"); j >= 0 && s[i+2+j] == ':' {
				// ${NAME:-x} is not supported here: kept as written.
				b.WriteString(s[i : i+3+j])
				i += 2 + j
				continue
			}
			if j := strings.IndexByte(s[i+2:], '}'); j >= 0 {
				name := s[i+2 : i+2+j]
				used = append(used, name)
				v, _ := lookup(name)
				b.WriteString(v)
				i += 2 + j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), used
}

// truncate shortens s to n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
