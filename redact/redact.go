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
	flag = regexp.MustCompile(`(?i)(--?[A-Za-z0-9-]*` + secretWord + `(?:=|[ \t]+))("[^"\r\n]*"?|'[^'\r\n]*'?|[^\s"'\\]+)`)
	// NAME=value where NAME ends in a secret word; the value runs to the
	// closing quote when the assignment was opened inside one
	// (Environment="API_KEY=a b").
	assign = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_.-])([A-Za-z0-9_.-]*` + secretWord + `[ \t]*=[ \t]*)`)
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
		s = flag.ReplaceAllStringFunc(s, maskFlag)
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

func maskFlag(m string) string {
	sub := flag.FindStringSubmatch(m)
	v := sub[2]
	if v == "" || strings.HasPrefix(v, "[redacted") || strings.HasPrefix(v, "-") {
		return m
	}
	return sub[1] + Mask
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
// ends in a secret word.
func maskAssignments(s string) string {
	locs := assign.FindAllStringSubmatchIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		vs := l[1] // the value starts after "NAME="
		if vs < last {
			continue
		}
		var opener byte
		if l[3] > l[2] {
			opener = s[l[2]]
		}
		ve := valueEnd(s, vs, opener)
		if ve == vs || strings.HasPrefix(s[vs:], Mask) {
			continue
		}
		b.WriteString(s[last:vs])
		if q := s[vs]; (q == '"' || q == '\'') && ve > vs+1 && s[ve-1] == q {
			b.WriteByte(q)
			b.WriteString(Mask)
			b.WriteByte(q)
		} else {
			b.WriteString(Mask)
		}
		last = ve
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
