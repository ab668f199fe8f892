package tui

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/redact/redacttest"
)

// TestNoPlantedSecretOrControlOnScreen plants a generated secret of every
// kind, and terminal escapes, into every string of the report the engine
// returns (and so into the plans Prepare returns and the results Apply
// returns), then walks the screens a user sees: the list, every
// finding's detail, a fix's preview and its result. No planted secret and
// no raw control character may reach the screen.
func TestNoPlantedSecretOrControlOnScreen(t *testing.T) {
	f := newFake()
	f.verified = true
	// The finding to fix: one whose first fix needs no value.
	target := ""
	for _, fd := range f.rep.Findings {
		if len(fd.Remediations) > 0 && fd.Remediations[0].Input == nil && target == "" {
			target = fd.ID
		}
	}
	orig := redact.Copy(f.rep, func(s string) string { return s })
	plants := redacttest.PlantEvery(f.rep, rand.New(rand.NewPCG(3, 5)), 0)
	// IDs are the engine's keys (Prepare looks a remediation up by ID)
	// and never node data: keep them.
	for i := range f.rep.Findings {
		fd, o := &f.rep.Findings[i], orig.Findings[i]
		fd.ID, fd.Check, fd.CausedBy, fd.Causes = o.ID, o.Check, o.CausedBy, o.Causes
		for j := range fd.Remediations {
			fd.Remediations[j].ID = o.Remediations[j].ID
		}
	}
	for i := range f.rep.Checks {
		f.rep.Checks[i].ID = orig.Checks[i].ID
	}
	f.rep.Findings[0].Title += " \x1b]0;pwned\x07\x1b[2J\u202e"
	f.rep.Findings[0].Evidence = append(f.rep.Findings[0].Evidence, diag.Evidence{Label: "label", Value: "evil=\x1b]2;x\x07\x9b"})
	m := swept(t, f, Options{ExportDir: t.TempDir()})
	check := func(where string, v string) {
		t.Helper()
		if pl, s, leak := redacttest.FirstLeak(plants, v); leak {
			t.Fatalf("%s: a %s secret %q is on screen", where, pl.Kind, s)
		}
		// The views add their own colours (none with the ASCII profile of
		// the tests); node data must bring none.
		for _, c := range []string{"\x1b]", "\x07", "\u202e", "\u009b", "\x1b[2J"} {
			if strings.Contains(v, c) {
				t.Fatalf("%s: raw control %q on screen:\n%q", where, c, v)
			}
		}
	}
	check("list", m.View())
	for i := range f.rep.Findings {
		m = keys(t, m, "enter")
		check("detail", m.View())
		if i == 0 {
			mustContain(t, m.View(), `\x1b]0;pwned\x07`)
		}
		m = keys(t, m, "esc", "down")
	}
	// A fix: preview, then the result.
	m = swept(t, f, Options{ExportDir: t.TempDir()})
	m = keys(t, m, "/")
	m = typeText(t, m, target)
	m = keys(t, m, "enter", "enter", "f")
	check("fix preview", m.View())
	mustContain(t, m.View(), "Apply this plan?")
	m = keys(t, m, "y")
	check("fix result", m.View())
	mustContain(t, m.View(), "Verified")
}
