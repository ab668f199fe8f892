package redact_test

import (
	"math/rand/v2"
	"testing"

	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/redact/redacttest"
)

// TestEveryKindMasked generates each kind of secret with random values
// and checks nothing of it survives String, alone and between words.
func TestEveryKindMasked(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range redacttest.Kinds() {
		for i := range 300 {
			p := k.Make(r)
			for _, text := range []string{p.Text, "before: " + p.Text + " after it", "x\n" + p.Text + "\ny"} {
				out := redact.String(text)
				if l := redacttest.Leaks(p, out); len(l) > 0 {
					t.Fatalf("%s #%d: %q survived\n in: %q\nout: %q", k.Name, i, l, text, out)
				}
			}
		}
	}
}

// FuzzString plants a generated secret of a fuzzed kind and value
// between fuzzed text: the oracle judges only what it planted.
func FuzzString(f *testing.F) {
	f.Add(uint8(0), uint64(1), "error: ", " refused")
	f.Add(uint8(6), uint64(7), "BEGINPRIVATE KEY-----", "\n")
	f.Add(uint8(8), uint64(3), "ExecStart=/usr/bin/dockerd ", "")
	f.Fuzz(func(t *testing.T, kind uint8, seed uint64, before, after string) {
		k, p := redacttest.Fuzzed(kind, seed)
		out := redact.String(before + " " + p.Text + "\n" + after)
		if s := redacttest.Survived(p, out, before+after); s != nil {
			t.Fatalf("%s: %q survived\nout: %q", k.Name, s, out)
		}
	})
}
