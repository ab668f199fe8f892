package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
)

// fuzzKeys is the alphabet FuzzKeys draws key presses from.
var fuzzKeys = []string{"down", "up", "enter", "esc", "f", "1", "2", "y", "n", "tab", "/", "?", "e", "r",
	"o", "d", "-", "x", "pgdown", "backspace", "space", "Y"}

// FuzzKeys presses arbitrary keys: nothing panics, every frame fits 80x24,
// and a fix is applied only by y on a low- or medium-risk preview or by
// enter with the exact hostname typed on a high-risk one.
func FuzzKeys(f *testing.F) {
	f.Add([]byte{0, 4, 7})                    // down f y
	f.Add([]byte{0, 0, 4, 8, 7})              // f n y
	f.Add([]byte{0, 0, 6, 14, 15, 16, 13, 2}) // 2, then type, enter
	f.Add([]byte{10, 2, 4, 3, 11, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		eng := newFake()
		m := swept(t, eng, Options{ExportDir: t.TempDir()})
		applied := 0
		for _, b := range data {
			k := fuzzKeys[int(b)%len(fuzzKeys)]
			allowed := false
			if m.screen == screenFix && m.fix.stage == stagePreview {
				if m.fix.cand.Remediation.Risk == diag.RiskHigh {
					allowed = k == "enter" && m.fix.host.Value() == "node-1"
				} else {
					allowed = k == "y"
				}
			}
			m = keys(t, m, k)
			_, a := eng.calls()
			if len(a) > applied && !allowed {
				t.Fatalf("key %q applied %v without confirmation (keys %v)", k, a[applied:], data)
			}
			applied = len(a)
			if m.quitting {
				return
			}
			lines := strings.Split(m.View(), "\n")
			if len(lines) != 24 {
				t.Fatalf("frame has %d lines", len(lines))
			}
			for i, l := range lines {
				if ansi.StringWidth(l) > 80 {
					t.Fatalf("line %d is %d cells: %q", i, ansi.StringWidth(l), l)
				}
			}
		}
	})
}
