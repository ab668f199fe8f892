package redact

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// pemKeys masks PEM private keys: whole, cut before their END line,
// escaped (literal \n) or joined with blanks, and headers written
// without their blank ("BEGINPRIVATE KEY").
func pemKeys(s string) string {
	if !strings.Contains(s, "PRIVATE KEY") {
		return s
	}
	var b strings.Builder
	last, i := 0, 0
	for {
		j := strings.Index(s[i:], "PRIVATE KEY")
		if j < 0 {
			break
		}
		idx := i + j
		hs, ok := beginOf(s, last, idx)
		if !ok {
			i = idx + len("PRIVATE KEY")
			continue
		}
		p := idx + len("PRIVATE KEY")
		for p < len(s) && s[p] == '-' {
			p++
		}
		end := max(bodyEnd(s, p, true), p)
		b.WriteString(s[last:hs])
		b.WriteString(KeyMask)
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// beginOf finds the "-----BEGIN [A-Z ]*" header that ends at idx, at or
// after floor; it returns where the header starts.
func beginOf(s string, floor, idx int) (int, bool) {
	lo := max(floor, idx-48)
	k := strings.LastIndex(s[lo:idx], "BEGIN")
	if k < 0 {
		return 0, false
	}
	k += lo
	for _, c := range []byte(s[k+len("BEGIN") : idx]) {
		if (c < 'A' || c > 'Z') && c != ' ' {
			return 0, false
		}
	}
	for k > floor && s[k-1] == '-' {
		k--
	}
	return k, true
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// skipSep skips blanks, newlines and escaped newlines (\n, \r, \t written
// out) from i.
func skipSep(s string, i int) int {
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '\\' && i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == 'r' || s[i+1] == 't'):
			i += 2
		default:
			return i
		}
	}
	return i
}

// bodyEnd returns where the base64 body that starts at p ends, after its
// "-----END … PRIVATE KEY-----" line when there is one. Body lines are
// base64 runs that end a line; one shorter than 60 is the last. headers
// allows the Proc-Type/DEK-Info lines of encrypted PEM.
func bodyEnd(s string, p int, headers bool) int {
	end := p
	inHeader := false
	for {
		q := skipSep(s, end)
		if e, ok := endLine(s, q); ok {
			return e
		}
		t := q
		hdr := headers && (strings.HasPrefix(s[q:], "Proc-Type:") || strings.HasPrefix(s[q:], "DEK-Info:") || inHeader)
		inHeader = false
		for t < len(s) {
			c := s[t]
			if isB64(c) || hdr && (c == ':' || c == ',' || c == '-' && !strings.HasPrefix(s[t:], "-----")) {
				t++
				continue
			}
			break
		}
		if hdr && t > q && s[t-1] == ':' {
			inHeader = true // its value comes next
		}
		// A short token that neither ends a line nor looks like base64
		// (digits, '+', '/', '=', inner capitals) is prose.
		if t == q || !hdr && t-q < 60 && !lineEnds(s, t) && !looksB64(s[q:t]) {
			return end
		}
		end = t
		if t-q < 60 && !hdr {
			if e, ok := endLine(s, skipSep(s, end)); ok {
				return e
			}
			return end
		}
	}
}

// looksB64 tells a short base64 line from a word: it holds a digit, '+',
// '/' or '=', or a capital after its first letter beside small ones.
func looksB64(tok string) bool {
	if strings.ContainsAny(tok, "0123456789+/=") {
		return true
	}
	lower := strings.ContainsAny(tok, "abcdefghijklmnopqrstuvwxyz")
	return lower && len(tok) > 1 && strings.ContainsAny(tok[1:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// endLine reports where an "-----END … PRIVATE KEY-----" line starting at
// q ends.
func endLine(s string, q int) (int, bool) {
	if !strings.HasPrefix(s[q:], "-----END") && !strings.HasPrefix(s[q:], "END ") {
		return 0, false
	}
	k := strings.Index(s[q:min(len(s), q+48)], "PRIVATE KEY")
	if k < 0 {
		return 0, false
	}
	e := q + k + len("PRIVATE KEY")
	for e < len(s) && s[e] == '-' {
		e++
	}
	return e, true
}

// lineEnds tells whether a body line may end at t: a newline (real or
// escaped), a quote, an END line or the end of the text.
func lineEnds(s string, t int) bool {
	if t >= len(s) {
		return true
	}
	switch s[t] {
	case '\n', '\r', '"', '\'':
		return true
	case '\\':
		return t+1 < len(s) && (s[t+1] == 'n' || s[t+1] == 'r')
	case '-':
		return strings.HasPrefix(s[t:], "-----")
	}
	return false
}

// base64Keys masks base64 runs that decode to private keys: a PEM key
// encoded again (kubeconfig client-key-data, a Secret's tls.key) or bare
// DER (PKCS#1, PKCS#8, SEC 1) or an OpenSSH key body. A run wrapped over
// several lines is masked whole.
func base64Keys(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("nrt", s[i+1]) >= 0 {
			i += 2
			continue
		}
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isB64(s[j]) {
			j++
		}
		if j-i >= 40 && isKeyData(s[i:min(j, i+64)]) {
			end := max(bodyEnd(s, i, false), j)
			b.WriteString(s[last:i])
			b.WriteString(Mask)
			last, i = end, end
			continue
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isKeyData tells whether the start of a base64 run decodes to the start
// of a private key.
func isKeyData(prefix string) bool {
	prefix = strings.TrimRight(prefix, "=")
	prefix = prefix[:len(prefix)/4*4]
	raw, err := base64.StdEncoding.DecodeString(prefix)
	if err != nil || len(raw) < 8 {
		return false
	}
	if bytes.HasPrefix(raw, []byte("-----BEGIN")) || bytes.HasPrefix(raw, []byte("openssh-key-v1")) {
		return bytes.HasPrefix(raw, []byte("openssh-key-v1")) || bytes.Contains(raw, []byte("PRIVATE")) || len(raw) < 20
	}
	if raw[0] != 0x30 {
		return false
	}
	// SEQUENCE, its length, then INTEGER version 0 or 1: a private key
	// (a certificate or public key has a SEQUENCE there).
	k := 2
	if raw[1]&0x80 != 0 {
		k += int(raw[1] & 0x7f)
	}
	return k+3 <= len(raw) && raw[k] == 0x02 && raw[k+1] == 0x01 && raw[k+2] <= 1
}

// urlCredentialSpans finds the password of user:password@host in URLs.
// The password may hold '/', '@' and blanks: it ends at the last '@'
// within the line that a host follows (with a blank in it, the host must
// be followed by a port, a path or the end, as in a URL, not prose). The
// spans are masked with the other rules' (a password that swallows an
// assignment, "://u: DB_PASSWORD=a@b@host/x", is masked to the
// assignment's end too).
func urlCredentialSpans(s string) []span {
	var spans []span
	last := 0
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			break
		}
		u := i + j + 3
		i = u
		k := u
		for k < len(s) && isUserChar(s[k]) {
			k++
		}
		if k == u || k >= len(s) || s[k] != ':' || k < last {
			continue
		}
		pw := k + 1
		if isPort(s, pw) {
			continue
		}
		at := -1
		blank := false
		for e := pw; e < len(s) && e-pw < 256; e++ {
			c := s[e]
			if c == '\n' || c == '\r' || c == '"' || c == '<' || c == '>' || c == '`' || strings.HasPrefix(s[e:], "://") {
				break
			}
			if c == ' ' || c == '\t' {
				blank = true
			}
			if c == '@' && hostAt(s, e+1, blank) {
				at = e
			}
		}
		if at <= pw || strings.HasPrefix(s[pw:], Mask) {
			continue
		}
		spans = append(spans, span{from: pw, to: at})
		last, i = at, at
	}
	return spans
}

func isUserChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~%!$&'()*+,;=", c) >= 0
}

// hostAt tells whether a host name or address starts at i; strict asks
// that a port, a path or the end of the line follow it.
func hostAt(s string, i int, strict bool) bool {
	j := i
	for j < len(s) && isHostChar(s[j]) {
		j++
	}
	if j == i {
		return false
	}
	return !strict || j == len(s) || strings.IndexByte(":/\n\r\"", s[j]) >= 0
}

func isHostChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '[' || c == ']'
}

// isPort tells whether a port, not a password, starts at i: digits then
// a path, a blank or the end (host:8080/x@y is a path holding '@').
func isPort(s string, i int) bool {
	j := i
	for j < len(s) && j-i < 6 && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return j > i && (j == len(s) || strings.IndexByte("/ \t\r\n", s[j]) >= 0)
}
