package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
)

// detailModel shows one finding: summary, explanation, evidence (scrolled),
// cause/effect links (enter follows) and its remediations.
type detailModel struct {
	id    string
	back  []string // findings to return to after following links
	links []string
	link  int
	sc    scroller
	// linkLines maps each link to its line, to scroll it into view.
	linkLines []int
}

// openDetail shows finding id; push keeps the current one to go back to.
func (m *Model) openDetail(id string, push bool) {
	if push && m.screen == screenDetail && m.detail.id != "" {
		m.detail.back = append(m.detail.back, m.detail.id)
	} else if !push {
		m.detail.back = nil
	}
	m.detail.id = id
	m.detail.link = 0
	m.detail.sc.offset = 0
	m.screen = screenDetail
	m.detail.render(m)
}

func (d *detailModel) finding(m *Model) (diag.Finding, bool) {
	if m.rep == nil {
		return diag.Finding{}, false
	}
	return m.rep.Finding(d.id)
}

// render rebuilds the content for the current width and link selection.
func (d *detailModel) render(m *Model) {
	f, ok := d.finding(m)
	if !ok {
		d.sc.set([]string{"This finding is not in the current report (the last sweep no longer reports it)."})
		d.links = nil
		return
	}
	w := m.width
	st := m.st
	var out []string
	add := func(lines ...string) { out = append(out, lines...) }
	add(st.sevLabel(f.Severity)+" "+st.header.Render(f.Title), st.dim.Render(f.ID))
	if res, ok := m.fixed[f.ID]; ok {
		if res.Verified {
			add(st.ok.Render("✔ resolved: "+res.Title), st.dim.Render("  "+res.VerifyDetail))
		} else {
			why := res.VerifyDetail
			if res.Error != "" {
				why = res.Error + "; " + why
			}
			add(st.bad.Render("✖ not resolved after: " + res.Title))
			for _, l := range wrap(why, w-2) {
				add("  " + l)
			}
		}
	}
	if f.New {
		add(st.bad.Render("new: not in the baseline report"))
	}
	if sp := f.Suppressed; sp != nil {
		until := ""
		if sp.Until != "" {
			until = ", until " + sp.Until
		}
		for _, l := range wrap(fmt.Sprintf("suppressed by the configuration (entry %d%s): %s", sp.Entry, until, sp.Reason), w) {
			add(st.dim.Render(l))
		}
	}
	add("")
	add(findingBody(st, f, w)...)
	d.links = nil
	d.linkLines = nil
	linkSection := func(title string, ids []string) {
		if len(ids) == 0 {
			return
		}
		add("", st.group.Render(title))
		for _, id := range ids {
			mark := "  "
			if len(d.links) == d.link {
				mark = "› "
			}
			text := id
			if g, ok := m.rep.Finding(id); ok {
				text = st.sevLabel(g.Severity) + " " + g.Title + "  " + st.dim.Render(id)
			}
			d.linkLines = append(d.linkLines, len(out))
			d.links = append(d.links, id)
			add(mark + st.link.Render("→") + " " + text)
		}
	}
	linkSection("Caused by", f.CausedBy)
	linkSection("Causes", f.Causes)
	if len(f.Remediations) > 0 {
		add("", st.group.Render("Fixes"))
		for i, r := range f.Remediations {
			hint := ""
			if m.opts.fixesDisabled() == "" {
				if i == 0 {
					hint = st.dim.Render("  (f or 1)")
				} else if i < 9 {
					hint = st.dim.Render(fmt.Sprintf("  (%d)", i+1))
				}
			}
			add(fmt.Sprintf("  [%d] %s · %s%s", i+1, r.Title, riskLabel(st, r.Risk), hint))
			add(st.dim.Render("      ksdoctor fix " + r.ID))
		}
		if why := m.opts.fixesDisabled(); why != "" {
			add("  " + st.warn.Render(why))
		}
	}
	d.sc.set(out)
}

func riskLabel(st styles, r diag.Risk) string {
	switch r {
	case diag.RiskHigh:
		return st.bad.Render("HIGH risk")
	case diag.RiskMedium:
		return st.warn.Render("medium risk")
	}
	return st.ok.Render(string(r) + " risk")
}

// tableLines renders an evidence table with aligned columns.
func tableLines(t *diag.Table, indent string, head func(...string) string) []string {
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = ansi.StringWidth(c)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = min(max(widths[i], ansi.StringWidth(c)), 40)
			}
		}
	}
	row := func(cells []string) string {
		parts := make([]string, 0, len(cells))
		for i, c := range cells {
			if i < len(widths) {
				c = padRight(truncate(c, widths[i]), widths[i])
			}
			parts = append(parts, c)
		}
		return strings.TrimRight(indent+strings.Join(parts, "  "), " ")
	}
	out := []string{head(row(t.Columns))}
	for _, r := range t.Rows {
		out = append(out, row(r))
	}
	return out
}

func (m *Model) detailKey(msg tea.KeyMsg) tea.Cmd {
	d := &m.detail
	k := m.keys
	h := m.bodyHeight()
	switch {
	case key.Matches(msg, k.Back):
		if n := len(d.back); n > 0 {
			id := d.back[n-1]
			d.back = d.back[:n-1]
			m.detail.id = id
			d.link, d.sc.offset = 0, 0
			d.render(m)
			return nil
		}
		m.list.selectID(d.id)
		m.screen = screenList
	case key.Matches(msg, k.Up):
		d.sc.scroll(-1, h)
	case key.Matches(msg, k.Down):
		d.sc.scroll(1, h)
	case key.Matches(msg, k.PageUp):
		d.sc.scroll(-h+1, h)
	case key.Matches(msg, k.PageDown):
		d.sc.scroll(h-1, h)
	case key.Matches(msg, k.NextLink):
		if len(d.links) > 0 {
			d.link = (d.link + 1) % len(d.links)
			d.render(m)
			d.sc.show(d.linkLines[d.link], h)
		}
	case key.Matches(msg, k.Open):
		if d.link < len(d.links) {
			if _, ok := m.rep.Finding(d.links[d.link]); ok {
				m.openDetail(d.links[d.link], true)
			}
		}
	case key.Matches(msg, k.Fix):
		if f, ok := d.finding(m); ok {
			return m.startFix(f, 0, screenDetail)
		}
	case key.Matches(msg, k.Pick):
		if f, ok := d.finding(m); ok {
			return m.startFix(f, int(msg.Runes[0]-'1'), screenDetail)
		}
	}
	return nil
}

func (m *Model) detailView(h int) string {
	return m.detail.sc.view(h)
}
