package tui

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestSuppressedAndNewMarked: a suppressed finding and a finding new since
// the baseline are tagged in the list, and the detail says why.
func TestSuppressedAndNewMarked(t *testing.T) {
	fake := newFake()
	fs := fake.rep.Findings
	fs[0].New = true
	fs[1].Suppressed = &diag.Suppressed{Entry: 2, Reason: "known since the migration", Until: "2027-01-31"}
	m := swept(t, fake, Options{})
	view := m.View()
	mustContain(t, view, "new")
	mustContain(t, view, "suppressed")
	m.openDetail(fs[1].ID)
	mustContain(t, m.View(), "suppressed by the configuration (entry 2, until 2027-01-31): known since")
	m.openDetail(fs[0].ID)
	mustContain(t, m.View(), "new: not in the baseline report")
}
