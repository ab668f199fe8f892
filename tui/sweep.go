package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
)

// sweepModel is the progress of one sweep: every source and check as it
// ends.
type sweepModel struct {
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

func newSweepModel(checks []diag.Check, now time.Time) sweepModel {
	s := sweepModel{started: now, index: map[string]int{}}
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
func (s *sweepModel) fraction() float64 {
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
	m.sweep = newSweepModel(m.opts.Checks, m.opts.Now())
	m.sweep.bar.Width = max(m.width-10, 10)
	ctx, cancel := context.WithCancel(m.ctx)
	m.cancelSweep = cancel
	return sweepCmd(ctx, m.eng, m.opts.From, m.gen)
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
	ev := msg.ev
	// Source errors and check reasons come from the node: masked and
	// made safe for the terminal as they enter.
	if ev.source != nil {
		s := redact.Copy(*ev.source, redact.Text)
		ev.source = &s
	}
	if ev.check != nil {
		c := redact.Copy(*ev.check, redact.Text)
		ev.check = &c
	}
	switch {
	case ev.source != nil:
		m.sweep.sources = append(m.sweep.sources, *ev.source)
	case ev.check != nil:
		if i, ok := m.sweep.index[ev.check.ID]; ok {
			m.sweep.checks[i].res = ev.check
		} else {
			m.sweep.index[ev.check.ID] = len(m.sweep.checks)
			m.sweep.checks = append(m.sweep.checks, checkRow{id: ev.check.ID, title: ev.check.Title, res: ev.check})
		}
	case ev.done:
		m.sweeping = false
		if m.cancelSweep != nil {
			m.cancelSweep()
			m.cancelSweep = nil
		}
		m.finishSweep(ev.snap, ev.rep)
		return nil
	}
	return nextSweepEvent(msg.gen, msg.ch)
}

// finishSweep shows the new report. Marks of earlier fixes are dropped: the
// new sweep is the truth now; the applied list is kept for the export.
func (m *Model) finishSweep(snap *diag.Snapshot, rep *diag.Report) {
	if rep == nil {
		rep = &diag.Report{}
	}
	m.snap = snap
	m.rep = report.ForTerminal(rep)
	m.fixed = map[string]*diag.ApplyResult{}
	m.list.rebuild(m.rep)
	m.screen = screenList
	if m.status == "re-sweeping…" {
		m.status = ""
	}
}

func (m *Model) resweep() tea.Cmd {
	m.screen = screenSweep
	m.status = "re-sweeping…"
	return tea.Batch(m.beginSweep(), m.tick())
}

func (m *Model) sweepView(h int) string {
	s := &m.sweep
	var b strings.Builder
	what := "Sweeping this node"
	if m.opts.From != nil {
		what = "Judging the recorded snapshot " + m.opts.FromPath
	}
	elapsed := m.opts.Now().Sub(s.started)
	fmt.Fprintf(&b, "%s %s  %s\n", m.spinView(), m.st.header.Render(what), m.st.dim.Render(fmt.Sprintf("%.1f s", elapsed.Seconds())))
	done := 0
	for _, c := range s.checks {
		if c.res != nil {
			done++
		}
	}
	bar := s.bar
	bar.Width = max(min(m.width-24, 60), 10)
	fmt.Fprintf(&b, "%s  %d/%d checks\n", bar.ViewAs(s.fraction()), done, len(s.checks))
	// Sources as one wrapped paragraph.
	var parts []string
	for _, src := range s.sources {
		mark := m.st.ok.Render("✔")
		if !src.OK {
			mark = m.st.bad.Render("✖")
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", mark, src.Source, m.st.dim.Render(fmtMs(float64(src.DurationMs)))))
	}
	if len(parts) == 0 {
		parts = append(parts, m.st.dim.Render("(gathering…)"))
	}
	srcLines := wrap("Sources: "+strings.Join(parts, "  "), m.width)
	for _, l := range srcLines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	used := 3 + len(srcLines)
	rows := make([]string, 0, len(s.checks))
	for _, c := range s.checks {
		rows = append(rows, m.checkRowView(c))
	}
	room := h - used
	if len(rows) > room && room > 0 {
		// Keep the newest results and what is still running visible.
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
			rows[0] = m.st.dim.Render(fmt.Sprintf("  ↑ %d more", start+1))
		}
	}
	b.WriteString(strings.Join(rows, "\n"))
	return b.String()
}

func (m *Model) checkRowView(c checkRow) string {
	if c.res == nil {
		return fmt.Sprintf("  %s running  %-9s %-34s %s", m.spinView(), "", c.id, m.st.dim.Render(c.title))
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
	return fmt.Sprintf("  %s %9s %-34s %s", m.st.statusLabel(r.Status), fmtMs(r.DurationMs), r.ID, m.st.dim.Render(extra))
}
