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
	"strings"
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
	authHeader = regexp.MustCompile(`(?i)(\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:basic|bearer|token|digest|negotiate)\s+)?)([^\s"'\\][^\r\n"'\\]*)`)
	// Bearer tokens outside a header.
	bearer = regexp.MustCompile(`(?i)(\bbearer\s+)([A-Za-z0-9\-._~+/]+=*)`)
	// JSON Web Tokens: base64url header "{", payload, signature.
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	// --password x, --password=x, --docker-password "x y", --token=…
	flag = regexp.MustCompile(`(?i)--?[A-Za-z0-9-]*` + secretWord + `(?:=|[ \t]+)`)
	// NAME=value where NAME ends in a secret word; the value runs to the
	// closing quote when the assignment was opened inside one
	// (Environment="API_KEY=a b").
	assign = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_.-])([A-Za-z0-9_.-]*` + secretWord + `[ \t]*=)`)
	// "password": "x", \"auth\":\"x\" (JSON, also escaped inside a string).
	jsonKey = regexp.MustCompile(`(?i)(\\?"` + quotedKeyWord + `\\?"\s*:\s*)(\\?"(?:[^"\\]|\\[^"])*\\?"|[^\s,}\]"\\]+)`)
	// YAML: token: x, client-key-data: x, password: x at the start of a
	// line (or after an escaped newline).
	yamlKey = regexp.MustCompile(`(?i)((?:^|\n|\\n)[ \t]*(?:-[ \t]+)?` + quotedKeyWord + `[ \t]*:[ \t]+)((?:[^\r\n\\]|\\[^n])+)`)
)

// secretName is a whole name that holds a secret.
var secretName = regexp.MustCompile(`(?i)^[A-Za-z0-9_.-]*` + secretWord + `$`)

// IsSecretName tells whether name (an environment variable, a label key,
// an option) names a secret: it ends in password, secret, token, api key,
// access key, private key, auth or credentials.
func IsSecretName(name string) bool { return secretName.MatchString(name) }

// String masks every secret recognised in s and returns everything else
// unchanged.
func String(s string) string {
	if s == "" {
		return s
	}
	s = pemKeys(s)
	s = base64Keys(s)
	s = urlCredentials(s)
	// The rules below need a word; most text has none, and skipping them
	// keeps masking fast on big inputs (iptables dumps in snapshots).
	lower := strings.ToLower(s)
	if strings.Contains(lower, "authorization") {
		s = authHeader.ReplaceAllString(s, "${1}"+Mask)
	}
	if strings.Contains(lower, "bearer") {
		s = bearer.ReplaceAllStringFunc(s, maskBearer)
	}
	if strings.Contains(s, "eyJ") {
		s = jwt.ReplaceAllString(s, Mask)
	}
	if !hasSecretWord(lower) {
		return s
	}
	if strings.Contains(s, "-") {
		s = maskFlags(s)
	}
	if strings.Contains(s, "=") {
		s = maskAssignments(s)
	}
	if strings.Contains(s, `"`) {
		s = jsonKey.ReplaceAllStringFunc(s, maskJSONKey)
	}
	if strings.Contains(s, ":") {
		s = yamlKey.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
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

// maskBearer masks "Bearer TOKEN" when TOKEN looks like one: long, or
// holding a digit or token punctuation, so "bearer authentication" in a
// sentence stays.
func maskBearer(m string) string {
	sub := bearer.FindStringSubmatch(m)
	tok := sub[2]
	if tok == Mask[1:len(Mask)-1] {
		return m
	}
	if len(tok) >= 16 || (len(tok) >= 8 && strings.ContainsAny(tok, "0123456789-._~+/=")) {
		return sub[1] + Mask
	}
	return m
}

// maskFlags masks the values of flags whose name ends in a secret word;
// a value that is itself a flag is left to be judged on its own.
func maskFlags(s string) string {
	var spans []span
	for _, l := range flag.FindAllStringIndex(s, -1) {
		vs := l[1]
		if vs >= len(s) || s[vs] == '-' || strings.HasPrefix(s[vs:], Mask) {
			continue
		}
		ve := valueEnd(s, vs, 0)
		if ve == vs {
			continue
		}
		spans = addSpan(spans, s, vs, ve)
	}
	return maskSpans(s, spans)
}

func maskJSONKey(m string) string {
	sub := jsonKey.FindStringSubmatch(m)
	v := sub[2]
	switch {
	case strings.HasPrefix(v, `\"`):
		return sub[1] + `\"` + Mask + `\"`
	case strings.HasPrefix(v, `"`):
		return sub[1] + `"` + Mask + `"`
	case v == "null" || v == "true" || v == "false" || v == "{" || v == "[":
		return m
	}
	return sub[1] + Mask
}

// maskAssignments masks the values of NAME=value assignments whose name
// ends in a secret word. Every assignment is judged on the original text
// (a value may run over the next assignment: "pass= API_KEY=\"x\""), and
// overlapping values are masked as one.
func maskAssignments(s string) string {
	var spans []span
	for _, l := range assign.FindAllStringSubmatchIndex(s, -1) {
		vs := l[1] // the value starts after "NAME=" and blanks
		for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
		var opener byte
		if l[3] > l[2] {
			opener = s[l[2]]
		}
		ve := valueEnd(s, vs, opener)
		if ve == vs || strings.HasPrefix(s[vs:], Mask) {
			continue
		}
		spans = addSpan(spans, s, vs, ve)
	}
	return maskSpans(s, spans)
}

// span is a value to mask, s[from:to]; quote is set when the value is
// quoted whole, to keep its quotes.
type span struct {
	from, to int
	quote    byte
}

// addSpan appends s[from:to], merged with the last span when they overlap.
func addSpan(spans []span, s string, from, to int) []span {
	sp := span{from: from, to: to}
	if q := s[from]; (q == '"' || q == '\'') && to > from+1 && s[to-1] == q {
		sp.quote = q
	}
	if n := len(spans); n > 0 && from < spans[n-1].to {
		spans[n-1].to = max(spans[n-1].to, to)
		spans[n-1].quote = 0
		return spans
	}
	return append(spans, sp)
}

// maskSpans replaces every span of s with the mask.
func maskSpans(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.from])
		if sp.quote != 0 {
			b.WriteByte(sp.quote)
			b.WriteString(Mask)
			b.WriteByte(sp.quote)
		} else {
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
func valueEnd(s string, i int, opener byte) int {
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
	j := strings.IndexAny(s[i:], " \t\r\n\"'&\\")
	if j < 0 {
		return len(s)
	}
	return i + j
}
