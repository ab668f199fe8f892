package tui

import (
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
)

// fixCase names a remediation of the fixture and how to open it.
type fixCase struct {
	finding string
	pick    string // key that opens the preview
	remID   string
	kind    diag.StepKind
	risk    diag.Risk
}

// destructiveFixes covers every remediation kind of the fixture: each
// StepKind of package diag plus the high-risk kinds.
var destructiveFixes = []fixCase{
	{"docker.exited-containers", "f", "docker.exited-containers/remove", diag.StepRemoveContainer, diag.RiskLow},
	{"docker.reclaimable", "1", "docker.reclaimable/remove-images", diag.StepRemoveImage, diag.RiskLow},
	{"docker.reclaimable", "2", "docker.reclaimable/prune-build-cache", diag.StepPruneBuildCache, diag.RiskLow},
	{"net.docker0-masquerade-missing", "f", "net.docker0-masquerade-missing/add-rule", kindIptablesRule, diag.RiskMedium},
	{"net.docker0-masquerade-missing", "2", "net.docker0-masquerade-missing/enable-iptables", kindRestartDocker, diag.RiskHigh},
}

// openPreview sweeps, selects the finding and opens the preview of tc.
func openPreview(t *testing.T, tc fixCase) (Model, *fakeEngine) {
	t.Helper()
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, tc.finding)
	m = keys(t, m, tc.pick)
	if m.screen != screenFix || m.fix.stage != stagePreview {
		t.Fatalf("%s: after %q: screen %d stage %d, want the preview", tc.remID, tc.pick, m.screen, m.fix.stage)
	}
	if got := m.fix.cand.Remediation.ID; got != tc.remID {
		t.Fatalf("preview of %s, want %s", got, tc.remID)
	}
	if k := m.fix.cand.Remediation.Plan.Steps[0].Kind; k != tc.kind {
		t.Fatalf("%s: step kind %s, want %s", tc.remID, k, tc.kind)
	}
	mustContain(t, m.View(), string(tc.kind))
	return m, f
}

func TestConfirmKeys(t *testing.T) {
	for _, tc := range destructiveFixes {
		t.Run(tc.remID, func(t *testing.T) {
			if tc.risk == diag.RiskHigh {
				t.Run("y-does-not-apply", func(t *testing.T) {
					m, f := openPreview(t, tc)
					m = keys(t, m, "y", "enter")
					if _, applied := f.calls(); len(applied) != 0 {
						t.Fatalf("applied %v after y+enter on a high-risk fix", applied)
					}
					if m.screen == screenFix {
						t.Errorf("dialog still open after a wrong hostname")
					}
				})
				for _, typed := range []string{"", "node", "node-12", "NODE-1", " node-1", "node-1 ", "yes"} {
					t.Run("hostname="+typed, func(t *testing.T) {
						m, f := openPreview(t, tc)
						m = typeText(t, m, typed)
						m = keys(t, m, "enter")
						if _, applied := f.calls(); len(applied) != 0 {
							t.Fatalf("applied %v after typing %q", applied, typed)
						}
						mustContain(t, m.View(), "hostname did not match")
					})
				}
				for _, k := range []string{"esc", "ctrl+c"} {
					t.Run("key="+k, func(t *testing.T) {
						m, f := openPreview(t, tc)
						m = typeText(t, m, "node-1")
						m = keys(t, m, k)
						if _, applied := f.calls(); len(applied) != 0 {
							t.Fatalf("applied %v after %s", applied, k)
						}
					})
				}
				t.Run("exact-hostname-applies", func(t *testing.T) {
					m, f := openPreview(t, tc)
					m = typeText(t, m, "node-1")
					m = keys(t, m, "enter")
					if _, applied := f.calls(); !slices.Equal(applied, []string{tc.remID}) {
						t.Fatalf("applied %v, want [%s]", applied, tc.remID)
					}
					if m.fix.stage != stageResult {
						t.Errorf("stage %d after apply, want the result", m.fix.stage)
					}
				})
				return
			}
			for _, k := range []string{"n", "N", "esc", "enter", "x", "space", "q", "Y", "tab", "backspace", "f"} {
				t.Run("key="+k, func(t *testing.T) {
					m, f := openPreview(t, tc)
					m = keys(t, m, k)
					if _, applied := f.calls(); len(applied) != 0 {
						t.Fatalf("key %q applied %v", k, applied)
					}
					if m.screen != screenList {
						t.Errorf("key %q: screen %d, want back at the list", k, m.screen)
					}
					mustContain(t, m.View(), "cancelled: nothing applied")
					// A second key does not apply what was cancelled.
					m = keys(t, m, "y")
					if _, applied := f.calls(); len(applied) != 0 {
						t.Fatalf("y after cancel applied %v", applied)
					}
				})
			}
			t.Run("scroll-keeps-dialog", func(t *testing.T) {
				m, f := openPreview(t, tc)
				m = keys(t, m, "down", "pgdown", "up")
				if m.screen != screenFix {
					t.Fatalf("scrolling closed the dialog")
				}
				if _, applied := f.calls(); len(applied) != 0 {
					t.Fatalf("scrolling applied %v", applied)
				}
			})
			t.Run("y-applies", func(t *testing.T) {
				m, f := openPreview(t, tc)
				m = keys(t, m, "y")
				if _, applied := f.calls(); !slices.Equal(applied, []string{tc.remID}) {
					t.Fatalf("applied %v, want [%s]", applied, tc.remID)
				}
				if len(m.s.applied) != 1 || m.s.applied[0].RemediationID != tc.remID {
					t.Errorf("session applied list %+v", m.s.applied)
				}
				mustContain(t, m.View(), "Verified", "re-check passed")
			})
		})
	}
}

func TestFixKeysAbsentWhenDisabled(t *testing.T) {
	for name, opts := range map[string]Options{
		"read-only": {ReadOnly: true},
		"replay":    {From: &diag.Snapshot{}, FromPath: "rec.json"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			m := swept(t, f, opts)
			m = selectFinding(t, m, "docker.exited-containers")
			for _, k := range []string{"f", "1", "2", "y"} {
				m = keys(t, m, k)
				if m.screen == screenFix {
					t.Fatalf("%q opened the fix dialog", k)
				}
			}
			m = keys(t, m, "enter", "f", "1", "y")
			if prepared, applied := f.calls(); len(prepared)+len(applied) != 0 {
				t.Fatalf("prepared %v applied %v", prepared, applied)
			}
			v := m.View()
			mustContain(t, v, opts.fixesDisabled())
			for _, absent := range []string{"f fix", "1-9 pick"} {
				if strings.Contains(v, absent) {
					t.Errorf("help bar shows %q:\n%s", absent, v)
				}
			}
		})
	}
}

func TestFixNotVerifiedShowsWhy(t *testing.T) {
	f := newFake()
	f.verified = false
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f", "y")
	mustContain(t, m.View(), "NOT verified", "re-check still finds")
	m = keys(t, m, "esc")
	mustContain(t, m.View(), "✖ not resolved")
	m = keys(t, m, "enter")
	mustContain(t, m.View(), "not resolved after", "re-check still finds")
}

func TestFixInputPrompt(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "disk.docker-root-usage")
	m = keys(t, m, "f")
	if m.fix.stage != stageInput {
		t.Fatalf("stage %d, want the input prompt", m.fix.stage)
	}
	mustContain(t, m.View(), "New data-root directory")
	// Enter with nothing typed asks again; nothing is prepared.
	m = keys(t, m, "enter")
	if p, _ := f.calls(); len(p) != 0 {
		t.Fatalf("prepared %v without a value", p)
	}
	m = typeText(t, m, "/data/docker")
	m = keys(t, m, "enter")
	if m.fix.stage != stagePreview {
		t.Fatalf("stage %d, want the preview", m.fix.stage)
	}
	if got := f.inputs[0]["to"]; got != "/data/docker" {
		t.Fatalf("inputs %v, want to=/data/docker", f.inputs)
	}
	// High risk: the hostname is required.
	m = keys(t, m, "y", "enter")
	if _, a := f.calls(); len(a) != 0 {
		t.Fatalf("applied %v", a)
	}
}

func TestFixInputEscCancels(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "disk.docker-root-usage")
	m = keys(t, m, "f")
	m = typeText(t, m, "/data")
	m = keys(t, m, "esc")
	if p, a := f.calls(); len(p)+len(a) != 0 || m.screen != screenList {
		t.Fatalf("prepared %v applied %v screen %d", p, a, m.screen)
	}
}

func TestPrepareErrorShown(t *testing.T) {
	f := newFake()
	f.prepareErr = errBoom
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f")
	mustContain(t, m.View(), "Could not prepare this fix", "boom", "Nothing was applied")
	m = keys(t, m, "y")
	if _, a := f.calls(); len(a) != 0 {
		t.Fatalf("applied %v after a failed prepare", a)
	}
}

// A burst of keys read at once is split into key presses; y typed before
// the preview is shown never applies, and a paste never confirms.
func TestKeyBurstNeverSkipsThePreview(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("fy")})
	if _, a := f.calls(); len(a) != 0 {
		t.Fatalf("burst fy applied %v", a)
	}
	if m.screen != screenFix || m.fix.stage != stagePreview {
		t.Fatalf("after burst: screen %d stage %d, want the preview", m.screen, m.fix.stage)
	}
	m = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y"), Paste: true})
	if _, a := f.calls(); len(a) != 0 {
		t.Fatalf("pasted y applied %v", a)
	}
	if m.screen == screenFix {
		t.Error("a paste did not cancel the dialog")
	}
	m = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
	m = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x?")})
	if !m.showHelp {
		t.Error("burst x? did not open help")
	}
}

// ctrl+c while a fix applies first aborts the remaining steps and waits for
// their report; a second ctrl+c quits.
func TestCtrlCWhileApplyingAbortsFirst(t *testing.T) {
	f := newFake()
	m := swept(t, f, Options{})
	m = selectFinding(t, m, "docker.exited-containers")
	m = keys(t, m, "f")
	// Enter the applying stage without running the apply command.
	next, _ := m.Update(keyMsg("y"))
	m = next.(Model)
	if m.fix.stage != stageApplying {
		t.Fatalf("stage %d, want applying", m.fix.stage)
	}
	next, cmd := m.Update(keyMsg("ctrl+c"))
	m = next.(Model)
	if m.quitting || cmd != nil {
		t.Fatal("first ctrl+c quit while applying")
	}
	if !m.fix.aborting {
		t.Error("first ctrl+c did not abort")
	}
	mustContain(t, m.View(), "aborting")
	next, cmd = m.Update(keyMsg("ctrl+c"))
	if !next.(Model).quitting || cmd == nil {
		t.Error("second ctrl+c did not quit")
	}
}
