package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
)

// detailScreen shows one finding: summary, explanation, evidence
// (scrolled), cause/effect links (tab selects, enter follows) and its
// remediations (f or 1-9 open the fix dialog).
type detailScreen struct {
	frame
	s     *session
	id    string
	back  []string // findings to return to after following links
	links []string
	link  int
	sc    scroller
	// linkLines maps each link to its line, to scroll it into view.
	linkLines []int
}

// showListMsg asks the root to show the list with finding id selected.
type showListMsg struct{ id string }

func newDetailScreen(f frame, s *session) *detailScreen {
	return &detailScreen{frame: f, s: s}
}

// open shows finding id, forgetting the links followed before.
func (d *detailScreen) open(id string) {
	d.back = nil
	d.show(id)
}

// show shows finding id from its top.
func (d *detailScreen) show(id string) {
	d.id = id
	d.link = 0
	d.sc.offset = 0
	d.render()
}

// SetSize implements component: the text is wrapped to the new width.
func (d *detailScreen) SetSize(w, h int) {
	d.frame.SetSize(w, h)
	d.render()
}

// Init implements tea.Model.
func (d *detailScreen) Init() tea.Cmd { return nil }

// ShortHelp implements help.KeyMap.
func (d *detailScreen) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Back, k.Up, k.Down, k.NextLink, withHelp(k.Open, "enter", "follow link"), k.Fix, k.Pick, k.Export, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (d *detailScreen) FullHelp() [][]key.Binding { return d.keys.fullHelp() }

// View implements tea.Model.
func (d *detailScreen) View() string { return d.sc.view(d.height) }

// render rebuilds the content for the current width and link selection.
func (d *detailScreen) render() {
	f, ok := d.s.finding(d.id)
	d.links, d.linkLines = nil, nil
	if !ok {
		d.sc.set([]string{"This finding is not in the current report (the last sweep no longer reports it)."})
		return
	}
	st, w := d.st, d.width
	out := []string{st.sevLabel(f.Severity) + " " + st.header.Render(f.Title), st.dim.Render(f.ID)}
	out = append(out, d.marks(f)...)
	out = append(out, "")
	out = append(out, findingBody(st, f, w)...)
	out = d.linkSection(out, "Caused by", f.CausedBy)
	out = d.linkSection(out, "Causes", f.Causes)
	out = append(out, d.fixLines(f)...)
	d.sc.set(out)
}

// marks say what happened to the finding: a fix applied in this session,
// new since the baseline, suppressed.
func (d *detailScreen) marks(f diag.Finding) []string {
	st, w := d.st, d.width
	var out []string
	if res, ok := d.s.fixed[f.ID]; ok {
		if res.Verified {
			out = append(out, st.ok.Render("✔ resolved: "+res.Title), st.dim.Render("  "+res.VerifyDetail))
		} else {
			why := res.VerifyDetail
			if res.Error != "" {
				why = res.Error + "; " + why
			}
			out = append(out, st.bad.Render("✖ not resolved after: "+res.Title))
			for _, l := range wrap(why, w-2) {
				out = append(out, "  "+l)
			}
		}
	}
	if f.New {
		out = append(out, st.bad.Render("new: not in the baseline report"))
	}
	if sp := f.Suppressed; sp != nil {
		until := ""
		if sp.Until != "" {
			until = ", until " + sp.Until
		}
		for _, l := range wrap(fmt.Sprintf("suppressed by the configuration (entry %d%s): %s", sp.Entry, until, sp.Reason), w) {
			out = append(out, st.dim.Render(l))
		}
	}
	return out
}

// linkSection adds the links to ids under title, the selected one marked.
func (d *detailScreen) linkSection(out []string, title string, ids []string) []string {
	if len(ids) == 0 {
		return out
	}
	st := d.st
	out = append(out, "", st.group.Render(title))
	for _, id := range ids {
		text := id
		if g, ok := d.s.finding(id); ok {
			text = st.sevLabel(g.Severity) + " " + g.Title + "  " + st.dim.Render(id)
		}
		d.linkLines = append(d.linkLines, len(out))
		out = append(out, cursorMark(len(d.links) == d.link)+st.link.Render("→")+" "+text)
		d.links = append(d.links, id)
	}
	return out
}

// fixLines list the finding's fixes with their keys and commands.
func (d *detailScreen) fixLines(f diag.Finding) []string {
	if len(f.Remediations) == 0 {
		return nil
	}
	st := d.st
	why := d.s.opts.fixesDisabled()
	out := []string{"", st.group.Render("Fixes")}
	for i, r := range f.Remediations {
		hint := ""
		if why == "" {
			if i == 0 {
				hint = st.dim.Render("  (f or 1)")
			} else if i < 9 {
				hint = st.dim.Render(fmt.Sprintf("  (%d)", i+1))
			}
		}
		out = append(out, fmt.Sprintf("  [%d] %s · %s%s", i+1, r.Title, riskLabel(st, r.Risk), hint))
		out = append(out, st.dim.Render("      ksdoctor fix "+r.ID))
	}
	if why != "" {
		out = append(out, "  "+st.warn.Render(why))
	}
	return out
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

// Update implements tea.Model.
func (d *detailScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return d, nil
	}
	k, h := d.keys, d.height
	switch {
	case key.Matches(km, k.Back):
		if n := len(d.back); n > 0 {
			id := d.back[n-1]
			d.back = d.back[:n-1]
			d.show(id)
			return d, nil
		}
		id := d.id
		return d, func() tea.Msg { return showListMsg{id} }
	case key.Matches(km, k.Up):
		d.sc.scroll(-1, h)
	case key.Matches(km, k.Down):
		d.sc.scroll(1, h)
	case key.Matches(km, k.PageUp):
		d.sc.scroll(-h+1, h)
	case key.Matches(km, k.PageDown):
		d.sc.scroll(h-1, h)
	case key.Matches(km, k.NextLink):
		if len(d.links) > 0 {
			d.link = (d.link + 1) % len(d.links)
			d.render()
			d.sc.show(d.linkLines[d.link], h)
		}
	case key.Matches(km, k.Open):
		if d.link < len(d.links) {
			if _, ok := d.s.finding(d.links[d.link]); ok {
				d.back = append(d.back, d.id)
				d.show(d.links[d.link])
			}
		}
	case key.Matches(km, k.Fix):
		if f, ok := d.s.finding(d.id); ok {
			return d, startFix(f, 0, screenDetail)
		}
	case key.Matches(km, k.Pick):
		if f, ok := d.s.finding(d.id); ok {
			return d, startFix(f, int(km.Runes[0]-'1'), screenDetail)
		}
	}
	return d, nil
}
