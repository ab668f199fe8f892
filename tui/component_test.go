package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
)

// nodeScreens are the node TUI's components on a session that has swept
// the fixture report, built without a root model.
func nodeScreens(t *testing.T, opts Options) (*session, *listScreen, *detailScreen, *fixDialog, *sweepScreen) {
	t.Helper()
	f := newFake()
	if opts.Now == nil {
		opts.Now = func() time.Time { return sweptAt }
	}
	s := &session{ctx: context.Background(), eng: f, opts: opts, rep: report.ForTerminal(f.rep), fixed: map[string]*diag.ApplyResult{}, noTicks: true}
	fr := newFrame(newStyles(), newKeyMap(opts.fixesDisabled() == ""))
	l := newListScreen(fr, s)
	l.rebuild(s.rep)
	sw := newSweepScreen(fr, s)
	sw.reset()
	return s, l, newDetailScreen(fr, s), newFixDialog(fr, s), sw
}

// run runs cmd and the commands batched in it; it returns the messages.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// TestComponentsNavigateByMessages: each node component handles its own
// keys and asks for navigation with a message, with no root model.
func TestComponentsNavigateByMessages(t *testing.T) {
	_, l, d, fx, _ := nodeScreens(t, Options{})
	l.Update(keyMsg("down"))
	sel, _ := l.selected()
	_, cmd := l.Update(keyMsg("enter"))
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (openDetailMsg{sel.ID}) {
		t.Fatalf("enter on the list: %#v, want openDetailMsg{%s}", msgs, sel.ID)
	}
	_, cmd = l.Update(keyMsg("f"))
	if msgs := run(cmd); len(msgs) != 1 || msgs[0].(startFixMsg).finding.ID != sel.ID || msgs[0].(startFixMsg).from != screenList {
		t.Fatalf("f on the list: %#v", msgs)
	}

	d.open("docker.exited-containers")
	d.Update(keyMsg("tab"))
	d.Update(keyMsg("enter")) // follows the link inside the component
	if d.id != "disk.docker-root-usage" {
		t.Fatalf("enter on a link opened %s", d.id)
	}
	d.Update(keyMsg("esc")) // back along the link, still inside
	_, cmd = d.Update(keyMsg("esc"))
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (showListMsg{"docker.exited-containers"}) {
		t.Fatalf("esc at the first detail: %#v", msgs)
	}

	f, _ := d.s.finding("docker.exited-containers")
	cmd, ok := fx.start(f, 0, screenDetail)
	if !ok {
		t.Fatal("the dialog did not open")
	}
	for _, msg := range run(cmd) {
		fx.Update(msg)
	}
	if fx.stage != stagePreview {
		t.Fatalf("stage %d, want the preview", fx.stage)
	}
	_, cmd = fx.Update(keyMsg("n"))
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (closeFixMsg{}) {
		t.Fatalf("n in the preview: %#v", msgs)
	}
	if fx.s.status != "cancelled: nothing applied" {
		t.Errorf("status %q", fx.s.status)
	}
}

// TestComponentsResize: every node component fits the size it is given,
// and the detail and the dialog re-wrap their text to a new width.
func TestComponentsResize(t *testing.T) {
	s, l, d, fx, sw := nodeScreens(t, Options{})
	d.open("disk.docker-root-usage")
	f, _ := s.finding("docker.exited-containers")
	for _, msg := range run(must(fx.start(f, 0, screenList))) {
		fx.Update(msg)
	}
	for name, c := range map[string]component{"sweep": sw, "list": l, "detail": d, "fix": fx} {
		for _, sz := range [][2]int{{20, 4}, {80, 20}, {200, 60}, {33, 7}} {
			c.SetSize(sz[0], sz[1])
			lines := strings.Split(c.View(), "\n")
			if len(lines) > sz[1] && name != "sweep" && name != "list" {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], len(lines))
			}
			for i, ln := range strings.Split(fit(c.View(), sz[0], sz[1]), "\n") {
				if ansi.StringWidth(ln) > sz[0] {
					t.Errorf("%s at %dx%d: line %d is %d cells", name, sz[0], sz[1], i, ansi.StringWidth(ln))
				}
			}
		}
	}
	for name, lines := range map[string]func() int{"detail": func() int { return len(d.sc.lines) }, "fix": func() int { return len(fx.sc.lines) }} {
		c := map[string]component{"detail": d, "fix": fx}[name]
		c.SetSize(30, 20)
		narrow := lines()
		c.SetSize(160, 20)
		if wide := lines(); wide >= narrow {
			t.Errorf("%s: %d lines at 160 cells, %d at 30: not re-wrapped", name, wide, narrow)
		}
	}
}

func must(cmd tea.Cmd, ok bool) tea.Cmd {
	if !ok {
		panic("dialog did not open")
	}
	return cmd
}

// TestComponentsHelp: the help bar of each component, in each state, lists
// keys with a help text, and only the enabled keys the component acts on;
// read-only sessions show no fix key.
func TestComponentsHelp(t *testing.T) {
	check := func(name string, c component, want, not []string) {
		t.Helper()
		var shown []string
		for _, b := range c.ShortHelp() {
			if !b.Enabled() {
				continue // the help bar leaves disabled keys out
			}
			if b.Help().Key == "" || b.Help().Desc == "" {
				t.Errorf("%s: key %v without help", name, b.Keys())
			}
			shown = append(shown, b.Help().Key+" "+b.Help().Desc)
		}
		all := strings.Join(shown, " · ")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: help %q lacks %q", name, all, w)
			}
		}
		for _, n := range not {
			if strings.Contains(all, n) {
				t.Errorf("%s: help %q shows %q", name, all, n)
			}
		}
		if len(c.FullHelp()) == 0 {
			t.Errorf("%s: no full help", name)
		}
	}
	s, l, d, fx, sw := nodeScreens(t, Options{})
	check("sweep", sw, []string{"? help", "q quit"}, []string{"fix"})
	check("list", l, []string{"enter open", "f fix", "/ filter", "tab severity"}, nil)
	l.Update(keyMsg("/"))
	check("list filtering", l, []string{"enter submit", "esc clear filter"}, []string{"q quit"})
	d.open("docker.exited-containers")
	check("detail", d, []string{"esc back", "tab next link", "enter follow link", "f fix"}, nil)
	f, _ := s.finding("net.docker0-masquerade-missing")
	for _, msg := range run(must(fx.start(f, 0, screenList))) {
		fx.Update(msg)
	}
	check("fix preview", fx, []string{"y apply", "1-9 pick fix", "scroll"}, []string{"q quit"})
	for _, msg := range run(must(fx.start(f, 1, screenList))) {
		fx.Update(msg)
	}
	check("fix preview high risk", fx, []string{"enter apply if the hostname matches", "esc cancel"}, []string{"y apply"})

	_, l, d, _, _ = nodeScreens(t, Options{ReadOnly: true})
	check("list read-only", l, []string{"enter open"}, []string{"f fix"})
	d.open("docker.exited-containers")
	check("detail read-only", d, []string{"esc back"}, []string{"f fix", "pick fix"})
}
