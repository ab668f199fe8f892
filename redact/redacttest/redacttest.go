// Package redacttest generates secrets of every kind package redact
// recognises, in the shapes they take on real nodes, for property tests
// and fuzz targets: each plant is the text to put somewhere and the parts
// of it that must never reach an output.
package redacttest

import (
	"encoding/base64"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
)

// Plant is one generated secret: Text goes into a field, Secrets are the
// values that must not survive masking.
type Plant struct {
	Kind    string
	Text    string
	Secrets []string
}

// Kind makes one shape of secret from a random source.
type Kind struct {
	Name string
	Make func(r *rand.Rand) Plant
}

const (
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	specials = "/@!$%;?"
	tokChars = alnum + "-._~+/"
)

// Value is a random password of 12 to 32 characters with '/', '@', '!',
// '$', '%', ';', '?' and, when blanks is set, single blanks inside.
func Value(r *rand.Rand, blanks bool) string {
	n := 12 + r.IntN(21)
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch x := r.IntN(10); {
		case x < 6:
			b.WriteByte(alnum[r.IntN(len(alnum))])
		case x < 9 || !blanks || i == 0 || i == n-1:
			b.WriteByte(specials[r.IntN(len(specials))])
		default:
			b.WriteByte(' ')
			b.WriteByte(alnum[r.IntN(len(alnum))])
			i++
		}
	}
	// Start and end with letters: a value is never mistaken for its
	// neighbours ('$' then a name, '/' then a path).
	return "k" + b.String() + "z"
}

func token(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokChars[r.IntN(len(tokChars))]
	}
	b[0] = 'T'
	return string(b)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// derKey is random DER that starts as a PKCS#1 RSA private key does.
func derKey(r *rand.Rand) []byte {
	return append([]byte{0x30, 0x82, 0x04, 0xa3, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00}, randBytes(r, 300+r.IntN(600))...)
}

// pemLines is a key body as PEM lines of 64.
func pemLines(der []byte) []string {
	s := base64.StdEncoding.EncodeToString(der)
	var out []string
	for len(s) > 64 {
		out = append(out, s[:64])
		s = s[64:]
	}
	return append(out, s)
}

func pemKey(r *rand.Rand, typ, sep string, end bool) Plant {
	lines := pemLines(derKey(r))
	text := "-----BEGIN " + typ + "PRIVATE KEY-----" + sep + strings.Join(lines, sep)
	if end {
		text += sep + "-----END " + typ + "PRIVATE KEY-----"
	}
	return Plant{Text: text, Secrets: lines}
}

func pemB64(r *rand.Rand) (string, []string) {
	p := pemKey(r, "RSA ", "\n", true)
	s := base64.StdEncoding.EncodeToString([]byte(p.Text + "\n"))
	return s, []string{s[40:]}
}

// Kinds are the shapes of secrets, about twenty.
func Kinds() []Kind {
	ks := kinds()
	for i := range ks {
		k := ks[i]
		ks[i].Make = func(r *rand.Rand) Plant {
			p := k.Make(r)
			p.Kind = k.Name
			return p
		}
	}
	return ks
}

func kinds() []Kind {
	return []Kind{
		{"pem-rsa", func(r *rand.Rand) Plant { return pemKey(r, "RSA ", "\n", true) }},
		{"pem-pkcs8-cut", func(r *rand.Rand) Plant { return pemKey(r, "", "\n", false) }},
		{"pem-escaped", func(r *rand.Rand) Plant { return pemKey(r, "EC ", `\n`, true) }},
		{"pem-one-line", func(r *rand.Rand) Plant { return pemKey(r, "OPENSSH ", " ", true) }},
		{"kubeconfig-client-key-data", func(r *rand.Rand) Plant {
			s, sec := pemB64(r)
			return Plant{Text: "users:\n- name: admin\n  user:\n    client-key-data: " + s + "\n", Secrets: sec}
		}},
		{"secret-tls-key-der", func(r *rand.Rand) Plant {
			s := base64.StdEncoding.EncodeToString(derKey(r))
			return Plant{Text: `{"data":{"tls.key":"` + s + `"}}`, Secrets: []string{s[16:]}}
		}},
		{"url-docker-host", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: "cannot connect to tcp://admin:" + v + "@10.1.2.3:2376: connection refused", Secrets: []string{v}}
		}},
		{"url-kubeconfig-server", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: "clusters:\n- cluster:\n    server: https://kube:" + v + "@api.example.com:6443\n", Secrets: []string{v}}
		}},
		{"url-proxy-env", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: `Environment="HTTPS_PROXY=http://ops:` + v + `@proxy.local:3128"`, Secrets: []string{v}}
		}},
		{"env-aws-secret", func(r *rand.Rand) Plant {
			v := Value(r, false)
			return Plant{Text: "AWS_SECRET_ACCESS_KEY=" + v, Secrets: []string{v}}
		}},
		{"env-api-key-quoted", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: `API_KEY="` + v + `"`, Secrets: []string{v}}
		}},
		{"env-token-in-unit", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: `Environment="GITLAB_TOKEN=` + v + `" "DEBUG=1"`, Secrets: []string{v}}
		}},
		{"env-password", func(r *rand.Rand) Plant {
			v := Value(r, false)
			return Plant{Text: "DB_PASSWORD=" + v, Secrets: []string{v}}
		}},
		{"flag-password", func(r *rand.Rand) Plant {
			v := Value(r, false)
			return Plant{Text: "docker login --username ci --password " + v + " registry.local", Secrets: []string{v}}
		}},
		{"flag-password-equals", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: `--registry-password="` + v + `"`, Secrets: []string{v}}
		}},
		{"header-basic", func(r *rand.Rand) Plant {
			v := base64.StdEncoding.EncodeToString([]byte("ci:" + Value(r, true)))
			return Plant{Text: "Authorization: Basic " + v, Secrets: []string{v}}
		}},
		{"header-bearer", func(r *rand.Rand) Plant {
			v := token(r, 20+r.IntN(30))
			return Plant{Text: "Authorization: Bearer " + v, Secrets: []string{v}}
		}},
		{"bearer-token", func(r *rand.Rand) Plant {
			v := token(r, 20+r.IntN(30))
			return Plant{Text: "request sent with bearer " + v + " was refused", Secrets: []string{v}}
		}},
		{"jwt", func(r *rand.Rand) Plant {
			enc := base64.RawURLEncoding.EncodeToString
			v := enc([]byte(`{"alg":"RS256","kid":"`+token(r, 8)+`"}`)) + "." + enc([]byte(`{"sub":"system:serviceaccount:`+token(r, 10)+`"}`)) + "." + enc(randBytes(r, 64))
			return Plant{Text: "token " + v, Secrets: []string{v[12:]}}
		}},
		{"docker-auths", func(r *rand.Rand) Plant {
			v := base64.StdEncoding.EncodeToString([]byte("ci:" + Value(r, true)))
			return Plant{Text: `{"auths":{"registry.example.com":{"auth":"` + v + `"}}}`, Secrets: []string{v}}
		}},
		{"kubeconfig-token", func(r *rand.Rand) Plant {
			v := Value(r, false)
			return Plant{Text: "users:\n- name: ci\n  user:\n    token: " + v + "\n", Secrets: []string{v}}
		}},
		{"json-password", func(r *rand.Rand) Plant {
			v := Value(r, true)
			return Plant{Text: `{"username":"ci","password":"` + v + `"}`, Secrets: []string{v}}
		}},
	}
}

// Leaks returns the secrets of p of which a piece of 10 characters
// appears in out (a secret shorter than that, whole). Secrets under 8
// characters (the tail line of a key) are not judged. It runs in time
// linear in out and the secrets.
func Leaks(p Plant, out string) []string {
	const w = 10
	pieces := map[string]int{}
	for i, s := range p.Secrets {
		switch {
		case len(s) < 8:
		case len(s) <= w:
			if strings.Contains(out, s) {
				pieces[s] = i
			}
		default:
			for j := 0; j+w <= len(s); j++ {
				pieces[s[j:j+w]] = i
			}
		}
	}
	hit := map[int]bool{}
	for j := 0; j+w <= len(out); j++ {
		if i, ok := pieces[out[j:j+w]]; ok {
			hit[i] = true
		}
	}
	for _, s := range p.Secrets {
		if len(s) >= 8 && len(s) <= w && strings.Contains(out, s) {
			hit[slices.Index(p.Secrets, s)] = true
		}
	}
	var leaked []string
	for i, s := range p.Secrets {
		if hit[i] {
			leaked = append(leaked, s)
		}
	}
	return leaked
}

// InText tells whether any 10-character piece of secret occurs in text:
// a fuzzed neighbour that holds the secret itself proves nothing.
func InText(secret, text string) bool {
	return len(Leaks(Plant{Secrets: []string{secret}}, text)) > 0
}

// Fuzzed is the kind a fuzz target's byte picks and the plant its seed
// makes of that kind.
func Fuzzed(kind uint8, seed uint64) (Kind, Plant) {
	ks := Kinds()
	k := ks[int(kind)%len(ks)]
	return k, k.Make(rand.New(rand.NewPCG(seed, seed>>7)))
}

// Survived is Leaks without the secrets the fuzzed text around the plant
// holds itself: the oracle judges only what it planted.
func Survived(p Plant, out, around string) []string {
	var left []string
	for _, s := range Leaks(p, out) {
		if !InText(s, around) {
			left = append(left, s)
		}
	}
	return left
}

// FirstLeak is Leaks over many plants at once, in one pass over out: the
// first plant of which a secret survives, and that secret.
func FirstLeak(plants []Plant, out string) (Plant, string, bool) {
	const w = 10
	type ref struct{ p, s int }
	pieces := map[string]ref{}
	for i, p := range plants {
		for j, s := range p.Secrets {
			if len(s) < 8 {
				continue
			}
			if len(s) <= w {
				if strings.Contains(out, s) {
					return p, s, true
				}
				continue
			}
			for k := 0; k+w <= len(s); k++ {
				pieces[s[k:k+w]] = ref{i, j}
			}
		}
	}
	for k := 0; k+w <= len(out); k++ {
		if r, ok := pieces[out[k:k+w]]; ok {
			return plants[r.p], plants[r.p].Secrets[r.s], true
		}
	}
	return Plant{}, "", false
}

// PlantEvery appends a generated secret to every string reachable from
// ptr (a pointer): struct fields, slice and array elements and map values,
// through pointers and interfaces; string i gets kind (start+i) mod the
// number of kinds. It returns what it planted.
func PlantEvery(ptr any, r *rand.Rand, start int) []Plant {
	p := &planter{r: r, kinds: Kinds(), next: start}
	p.plant(reflect.ValueOf(ptr))
	return p.plants
}

type planter struct {
	r      *rand.Rand
	kinds  []Kind
	next   int
	plants []Plant
}

func (p *planter) plant(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		pl := p.kinds[p.next%len(p.kinds)].Make(p.r)
		p.next++
		p.plants = append(p.plants, pl)
		v.SetString(v.String() + " " + pl.Text + "\n")
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			p.plant(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				p.plant(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			p.plant(v.Index(i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			p.plant(e)
			if e.Kind() != reflect.Pointer && e.Kind() != reflect.Interface {
				v.SetMapIndex(it.Key(), e)
			}
		}
	}
}
