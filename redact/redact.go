// Package redact is the one place ksdoctor's outputs pass through before
// anyone sees them. String masks secrets recognised by what they are
// (private keys, key data, URL credentials, secret-named assignments and
// flags, Authorization headers, bearer tokens and JWTs, registry auths,
// kubeconfig tokens) and leaves every other word alone, so a check's
// verdict survives. Escape makes control characters from node data
// visible instead of letting them reach a terminal. Copy applies either to
// every string of a value (a report, a snapshot, a journal record) without
// touching the original.
//
// Every rule runs in time linear in its input: regular expressions are
// RE2 (no backtracking) and the hand-written scanners look a bounded
// distance ahead. docs/redaction.md lists the rules and why they are ours.
package redact

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Mask replaces a secret value; KeyMask replaces a whole private key.
const (
	Mask    = "[redacted]"
	KeyMask = "[private key redacted]"
)

// secretWord is the end of a name that holds a secret: API_KEY,
// AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, DB_PASSWORD, client_secret, auth.
const secretWord = `(?:password|passwd|secret|token|api[_.-]?key|access[_.-]?key|secret[_.-]?key|private[_.-]?key|auth|credentials?)`

// quotedKeyWord is a JSON/YAML key that holds a secret.
const quotedKeyWord = `(?:[A-Za-z0-9_.-]*[_.-])?(?:password|passwd|secret|token|auth|apikey|api[_-]key|access[_-]key|secret[_-]access[_-]key|client[_-]key[_-]data|client[_-]secret|identitytoken|registrytoken|id[_-]token|refresh[_-]token|access[_-]token)`

var (
	// Authorization: Basic …, Authorization: Bearer …, to the end of the
	// line or quote.
	authHeader = lazyRegexp(`(?i)(\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:basic|bearer|token|digest|negotiate)\s+)?)([^\s"'\\][^\r\n"'\\]*)`)
	// Bearer tokens outside a header.
	bearer = lazyRegexp(`(?i)(\bbearer\s+)([A-Za-z0-9\-._~+/]+=*)`)
	// JSON Web Tokens: base64url header "{", payload, signature.
	jwt = lazyRegexp(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	// --password x, --password=x, --docker-password "x y", --token=…
	flag = lazyRegexp(`(?i)--?[A-Za-z0-9-]*` + secretWord + `(?:=|[ \t]+)`)
	// NAME=value where NAME ends in a secret word; the value runs to the
	// closing quote when the assignment was opened inside one
	// (Environment="API_KEY=a b").
	assign = lazyRegexp(`(?i)(^|[^A-Za-z0-9_.-])([A-Za-z0-9_.-]*` + secretWord + `[ \t]*=)`)
	// "password": "x", \"auth\":\"x\" (JSON, also escaped inside a string).
	jsonKey = lazyRegexp(`(?i)(\\?"` + quotedKeyWord + `\\?"\s*:\s*)(\\?"(?:[^"\\]|\\[^"])*\\?"|[^\s,}\]"\\]+)`)
	// YAML: token: x, client-key-data: x, password: x at the start of a
	// line (or after an escaped newline).
	yamlKey = lazyRegexp(`(?i)((?:^|\n|\\n)[ \t]*(?:-[ \t]+)?` + quotedKeyWord + `[ \t]*:[ \t]+)((?:[^\r\n\\]|\\[^n])+)`)
)

// lazyRegexp compiles expr on first use, not at start-up: every start of
// the binary (--version, completion) would otherwise pay for these eight
// patterns (about 0.3 ms and 170 KB), though most never mask anything.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// secretName is a whole name that holds a secret.
var secretName = lazyRegexp(`(?i)^[A-Za-z0-9_.-]*` + secretWord + `$`)

// IsSecretName tells whether name (an environment variable, a label key,
// an option) names a secret: it ends in password, secret, token, api key,
// access key, private key, auth or credentials.
func IsSecretName(name string) bool { return secretName().MatchString(name) }

// String masks every secret recognised in s and returns everything else
// unchanged.
func String(s string) string {
	if s == "" {
		return s
	}
	s = pemKeys(s)
	s = base64Keys(s)
	// The rules below each judge the same text and return spans, masked
	// together at the end, so one rule's mask never hides the words
	// another needs ("-PRIVATEKEY API_KEY=\"x\"", a URL password running
	// over "DB_PASSWORD=…"). Most need a word; most text has none, and
	// skipping them keeps masking fast on big inputs (iptables dumps in
	// snapshots).
	var spans []span
	if strings.Contains(s, "://") {
		spans = urlCredentialSpans(s)
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "authorization") {
		spans = append(spans, groupSpans(s, authHeader(), 2, nil)...)
	}
	if strings.Contains(lower, "bearer") {
		spans = append(spans, groupSpans(s, bearer(), 2, isBearerToken)...)
	}
	if strings.Contains(s, "eyJ") {
		spans = append(spans, groupSpans(s, jwt(), 0, nil)...)
	}
	if hasSecretWord(lower) {
		if strings.Contains(s, "-") {
			spans = append(spans, flagSpans(s)...)
		}
		if strings.Contains(s, "=") {
			spans = append(spans, assignmentSpans(s)...)
		}
		if strings.Contains(s, `"`) {
			spans = append(spans, groupSpans(s, jsonKey(), 2, isJSONSecret)...)
		}
		if strings.Contains(s, ":") {
			spans = append(spans, groupSpans(s, yamlKey(), 2, nil)...)
		}
	}
	return maskSpans(s, spans)
}

// groupSpans returns the spans of group g of re's matches in s that
// accept (nil: all) takes.
func groupSpans(s string, re *regexp.Regexp, g int, accept func(string) bool) []span {
	var out []span
	for _, l := range re.FindAllStringSubmatchIndex(s, -1) {
		from, to := l[2*g], l[2*g+1]
		if from < 0 || to <= from || strings.HasPrefix(s[from:], Mask) || accept != nil && !accept(s[from:to]) {
			continue
		}
		out = append(out, newSpan(s, from, to))
	}
	return out
}

// isBearerToken tells a token after "Bearer" from a word: long, or
// holding a digit or token punctuation ("bearer authentication" stays).
func isBearerToken(tok string) bool {
	return len(tok) >= 16 || (len(tok) >= 8 && strings.ContainsAny(tok, "0123456789-._~+/="))
}

// isJSONSecret skips JSON values that are no secret: null, booleans,
// objects and lists.
func isJSONSecret(v string) bool {
	return v != "null" && v != "true" && v != "false" && v != "{" && v != "["
}

// hasSecretWord tells whether lower-cased text holds a word the
// name-based rules look for.
func hasSecretWord(lower string) bool {
	for _, w := range []string{"pass", "secret", "token", "key", "auth", "credential"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// flagSpans finds the values of flags whose name ends in a secret word;
// a value that is itself a flag is left to be judged on its own.
func flagSpans(s string) []span {
	var spans []span
	var st stopper
	for _, l := range flag().FindAllStringIndex(s, -1) {
		vs := l[1]
		if vs >= len(s) || s[vs] == '-' || strings.HasPrefix(s[vs:], Mask) {
			continue
		}
		ve := valueEnd(s, vs, 0, &st)
		if ve == vs {
			continue
		}
		spans = append(spans, newSpan(s, vs, ve))
	}
	return spans
}

// assignmentSpans finds the values of NAME=value assignments whose name
// ends in a secret word. Every assignment is judged on the same text (a
// value may run over the next assignment: "pass= API_KEY=\"x\"").
func assignmentSpans(s string) []span {
	var spans []span
	var st stopper
	for _, l := range assign().FindAllStringSubmatchIndex(s, -1) {
		vs := l[1] // the value starts after "NAME=" and blanks
		for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
		var opener byte
		if l[3] > l[2] {
			opener = s[l[2]]
		}
		ve := valueEnd(s, vs, opener, &st)
		if ve == vs || strings.HasPrefix(s[vs:], Mask) {
			continue
		}
		spans = append(spans, newSpan(s, vs, ve))
	}
	return spans
}

// span is a value to mask, s[from:to].
type span struct{ from, to int }

// newSpan is the span s[from:to]; a value quoted whole (also with
// escaped quotes, \"…\") keeps its quotes.
func newSpan(s string, from, to int) span {
	v := s[from:to]
	for _, q := range []string{`\"`, `"`, "'"} {
		if len(v) >= 2*len(q) && strings.HasPrefix(v, q) && strings.HasSuffix(v, q) {
			return span{from: from + len(q), to: to - len(q)}
		}
	}
	return span{from: from, to: to}
}

// maskSpans replaces every span of s with the mask, overlapping spans
// as one.
func maskSpans(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp.to <= last {
			continue
		}
		if sp.from < last {
			sp.from = last // overlaps the one before: extend it
		} else {
			b.WriteString(s[last:sp.from])
			b.WriteString(Mask)
		}
		last = sp.to
	}
	b.WriteString(s[last:])
	return b.String()
}

// valueEnd finds where an assignment's value ends: at its own closing
// quote, at the quote that opened the assignment, or at a blank, quote,
// '&' or backslash.
func valueEnd(s string, i int, opener byte, st *stopper) int {
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		if j := strings.IndexAny(s[i+1:], string(s[i])+"\r\n"); j >= 0 && s[i+1+j] == s[i] {
			return i + 2 + j
		}
	}
	if opener == '"' || opener == '\'' {
		if j := strings.IndexAny(s[i:], string(opener)+"\r\n"); j >= 0 {
			return i + j
		}
		return len(s)
	}
	return st.next(s, i)
}

// stopper finds where an unquoted value ends: the next blank, quote, '&'
// or backslash. Asked in increasing order (the matches of one text), it
// reuses its last answer while it still holds, so many assignments in a
// row without a blank ("A_TOKEN=A_TOKEN=…") stay linear.
type stopper struct{ from, at int }

func (st *stopper) next(s string, i int) int {
	if st.at > 0 && i >= st.from && i <= st.at {
		return st.at
	}
	st.from, st.at = i, len(s)
	if j := strings.IndexAny(s[i:], " \t\r\n\"'&\\"); j >= 0 {
		st.at = i + j
	}
	return st.at
}
