package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
)

// sweepProgress is the progress of one sweep: every source and check as it
// ends.
type sweepProgress struct {
	started  time.Time
	checks   []checkRow
	index    map[string]int
	sources  []diag.SourceStatus
	expected int // sources expected (cheap ones; expensive ones may add)
	bar      progress.Model
}

type checkRow struct {
	id, title string
	res       *diag.CheckResult
}

func newSweepProgress(checks []diag.Check, now time.Time) sweepProgress {
	s := sweepProgress{started: now, index: map[string]int{}}
	for i, c := range checks {
		s.checks = append(s.checks, checkRow{id: c.ID, title: c.Title})
		s.index[c.ID] = i
	}
	s.expected = len(diag.SourcesFor(checks))
	if !slices.Contains(diag.SourcesFor(checks), diag.SourceHost) {
		s.expected++ // host facts are always gathered
	}
	s.bar = progress.New(progress.WithSolidFill(string(colAccent)), progress.WithoutPercentage(), progress.WithFillCharacters('#', '.'))
	return s
}

// fraction is how far the sweep is: sources gathered and checks judged.
func (s *sweepProgress) fraction() float64 {
	done := len(s.sources)
	total := max(s.expected, len(s.sources)) + len(s.checks)
	for _, c := range s.checks {
		if c.res != nil {
			done++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(done) / float64(total)
}

// sweepEvent is one thing the engine reported during a sweep.
type sweepEvent struct {
	source *diag.SourceStatus
	check  *diag.CheckResult
	done   bool
	snap   *diag.Snapshot
	rep    *diag.Report
}

// sweepEventMsg carries one event of sweep gen; ch yields the next ones.
type sweepEventMsg struct {
	gen int
	ev  sweepEvent
	ch  <-chan sweepEvent
}

// beginSweep resets the progress view and returns the command that runs a
// new sweep (or a replay of Options.From).
func (m *Model) beginSweep() tea.Cmd {
	if m.cancelSweep != nil {
		m.cancelSweep()
	}
	m.gen++
	m.sweeping = true
	m.sweep.reset()
	ctx, cancel := context.WithCancel(m.s.ctx)
	m.cancelSweep = cancel
	return sweepCmd(ctx, m.s.eng, m.s.opts.From, m.gen)
}

// sweepCmd starts the engine in the background and returns its first
// event; progress callbacks are bridged to messages through a channel, so
// gathering never blocks the UI.
func sweepCmd(ctx context.Context, eng Engine, from *diag.Snapshot, gen int) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan sweepEvent, 64)
		send := func(ev sweepEvent) {
			select {
			case ch <- ev:
			case <-ctx.Done():
			}
		}
		go func() {
			defer close(ch)
			p := doctor.Progress{
				Source: func(st diag.SourceStatus) { send(sweepEvent{source: &st}) },
				Check:  func(r diag.CheckResult) { send(sweepEvent{check: &r}) },
			}
			var snap *diag.Snapshot
			var rep *diag.Report
			if from != nil {
				snap, rep = from, eng.Replay(from, p)
			} else {
				snap, rep = eng.Sweep(ctx, p)
			}
			send(sweepEvent{done: true, snap: snap, rep: rep})
		}()
		return nextSweepEvent(gen, ch)()
	}
}

func nextSweepEvent(gen int, ch <-chan sweepEvent) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return nil
		}
		return sweepEventMsg{gen: gen, ev: ev, ch: ch}
	}
}

func (m *Model) onSweepEvent(msg sweepEventMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil // a sweep that was replaced
	}
	if msg.ev.done {
		m.sweeping = false
		if m.cancelSweep != nil {
			m.cancelSweep()
			m.cancelSweep = nil
		}
		m.finishSweep(msg.ev.snap, msg.ev.rep)
		return nil
	}
	m.sweep.Update(msg)
	return nextSweepEvent(msg.gen, msg.ch)
}

// finishSweep shows the new report. Marks of earlier fixes are dropped: the
// new sweep is the truth now; the applied list is kept for the export.
func (m *Model) finishSweep(snap *diag.Snapshot, rep *diag.Report) {
	if rep == nil {
		rep = &diag.Report{}
	}
	m.s.snap = snap
	// The screen shows the report masked, with control characters from
	// node data made visible.
	m.s.rep = report.ForTerminal(rep)
	m.s.fixed = map[string]*diag.ApplyResult{}
	m.list.rebuild(m.s.rep)
	m.screen = screenList
	if m.s.status == "re-sweeping…" {
		m.s.status = ""
	}
}

func (m *Model) resweep() tea.Cmd {
	m.screen = screenSweep
	m.s.status = "re-sweeping…"
	return tea.Batch(m.beginSweep(), m.s.tick())
}

// sweepScreen shows a sweep's progress: a bar, the sources gathered and
// every check as it ends.
type sweepScreen struct {
	frame
	s    *session
	prog sweepProgress
}

func newSweepScreen(f frame, s *session) *sweepScreen {
	return &sweepScreen{frame: f, s: s}
}

// reset starts the progress of a new sweep.
func (v *sweepScreen) reset() {
	v.prog = newSweepProgress(v.s.opts.Checks, v.s.opts.Now())
}

// Init implements tea.Model.
func (v *sweepScreen) Init() tea.Cmd { return nil }

// Update implements tea.Model: it records the sweep's events (keys do
// nothing here but the root's quit and help).
func (v *sweepScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	ev, ok := msg.(sweepEventMsg)
	if !ok {
		return v, nil
	}
	// Source errors and check reasons come from the node: masked and
	// made safe for the terminal as they enter.
	p := &v.prog
	switch {
	case ev.ev.source != nil:
		p.sources = append(p.sources, redact.Copy(*ev.ev.source, redact.Text))
	case ev.ev.check != nil:
		c := redact.Copy(*ev.ev.check, redact.Text)
		if i, ok := p.index[c.ID]; ok {
			p.checks[i].res = &c
		} else {
			p.index[c.ID] = len(p.checks)
			p.checks = append(p.checks, checkRow{id: c.ID, title: c.Title, res: &c})
		}
	}
	return v, nil
}

// ShortHelp implements help.KeyMap.
func (v *sweepScreen) ShortHelp() []key.Binding { return []key.Binding{v.keys.Help, v.keys.Quit} }

// FullHelp implements help.KeyMap.
func (v *sweepScreen) FullHelp() [][]key.Binding { return v.keys.fullHelp() }

// View implements tea.Model.
func (v *sweepScreen) View() string {
	s := &v.prog
	h := v.height
	var b strings.Builder
	what := "Sweeping this node"
	if v.s.opts.From != nil {
		what = "Judging the recorded snapshot " + v.s.opts.FromPath
	}
	elapsed := v.s.opts.Now().Sub(s.started)
	fmt.Fprintf(&b, "%s %s  %s\n", v.s.spinView(), v.st.header.Render(what), v.st.dim.Render(fmt.Sprintf("%.1f s", elapsed.Seconds())))
	done := 0
	for _, c := range s.checks {
		if c.res != nil {
			done++
		}
	}
	bar := s.bar
	bar.Width = max(min(v.width-24, 60), 10)
	fmt.Fprintf(&b, "%s  %d/%d checks\n", bar.ViewAs(s.fraction()), done, len(s.checks))
	srcLines := v.sourceLines()
	for _, l := range srcLines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(v.checkRows(h-3-len(srcLines)), "\n"))
	return b.String()
}

// sourceLines are the sources gathered, as one wrapped paragraph.
func (v *sweepScreen) sourceLines() []string {
	var parts []string
	for _, src := range v.prog.sources {
		mark := v.st.ok.Render("✔")
		if !src.OK {
			mark = v.st.bad.Render("✖")
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", mark, src.Source, v.st.dim.Render(fmtMs(float64(src.DurationMs)))))
	}
	if len(parts) == 0 {
		parts = append(parts, v.st.dim.Render("(gathering…)"))
	}
	return wrap("Sources: "+strings.Join(parts, "  "), v.width)
}

// checkRows are the checks' rows that fit in room lines: the newest
// results and what still runs.
func (v *sweepScreen) checkRows(room int) []string {
	s := &v.prog
	rows := make([]string, 0, len(s.checks))
	for _, c := range s.checks {
		rows = append(rows, v.checkRowView(c))
	}
	if len(rows) <= room || room <= 0 {
		return rows
	}
	first := 0
	for i, c := range s.checks {
		if c.res == nil {
			first = i
			break
		}
		first = i
	}
	start := max(min(first-room/2, len(rows)-room), 0)
	rows = rows[start : start+room]
	if start > 0 {
		rows[0] = v.st.dim.Render(fmt.Sprintf("  ↑ %d more", start+1))
	}
	return rows
}

func (v *sweepScreen) checkRowView(c checkRow) string {
	if c.res == nil {
		return fmt.Sprintf("  %s running  %-9s %-34s %s", v.s.spinView(), "", c.id, v.st.dim.Render(c.title))
	}
	r := c.res
	extra := ""
	switch {
	case r.Findings == 1:
		extra = "1 finding"
	case r.Findings > 1:
		extra = fmt.Sprintf("%d findings", r.Findings)
	case r.Reason != "":
		extra = r.Reason
	}
	if r.Error != "" {
		extra = r.Error
	}
	return fmt.Sprintf("  %s %9s %-34s %s", v.st.statusLabel(r.Status), fmtMs(r.DurationMs), r.ID, v.st.dim.Render(extra))
}
