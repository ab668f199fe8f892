package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
)

// severityCycle is the order tab walks the severity filter in; "" is all.
var severityCycle = []diag.Severity{"", diag.Critical, diag.Warning, diag.Info}

// listScreen is the findings list: grouped by severity, filtered by text
// and by severity. Enter opens a finding, f (or 1-9) its fix.
type listScreen struct {
	frame
	s         *session
	all       []diag.Finding
	visible   []diag.Finding
	cursor    int
	offset    int
	sevFilter diag.Severity
	filter    textinput.Model
	filtering bool
}

func newListScreen(f frame, s *session) *listScreen {
	ti := newTextInput()
	ti.Prompt = "/"
	ti.Placeholder = "text in title, summary or ID"
	ti.CharLimit = 100
	return &listScreen{frame: f, s: s, filter: ti}
}

// openDetailMsg asks the root to show finding id.
type openDetailMsg struct{ id string }

// startFixMsg asks the root to open the fix dialog for remediation index
// of finding, coming back to screen from.
type startFixMsg struct {
	finding diag.Finding
	index   int
	from    screen
}

func startFix(f diag.Finding, index int, from screen) tea.Cmd {
	return func() tea.Msg { return startFixMsg{finding: f, index: index, from: from} }
}

// Init implements tea.Model.
func (l *listScreen) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (l *listScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return l, nil
	}
	if l.filtering {
		l.filterKey(km)
		return l, nil
	}
	return l, l.key(km)
}

// ShortHelp implements help.KeyMap.
func (l *listScreen) ShortHelp() []key.Binding {
	k := l.keys
	if l.filtering {
		return []key.Binding{k.Submit, withHelp(k.Back, "esc", "clear filter")}
	}
	return []key.Binding{k.Up, k.Down, k.Open, k.Fix, k.Filter, k.Severity, k.Resweep, k.Export, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (l *listScreen) FullHelp() [][]key.Binding { return l.keys.fullHelp() }

// rebuild takes the findings of a new report, keeping the cursor on the
// same finding when it is still there.
func (l *listScreen) rebuild(rep *diag.Report) {
	l.all = rep.Findings
	l.apply()
}

// apply recomputes the visible findings from the filters.
func (l *listScreen) apply() {
	keep := ""
	if f, ok := l.selected(); ok {
		keep = f.ID
	}
	q := strings.ToLower(strings.TrimSpace(l.filter.Value()))
	l.visible = l.visible[:0]
	for _, f := range l.all {
		if l.sevFilter != "" && f.Severity != l.sevFilter {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(f.ID+"\x00"+f.Title+"\x00"+f.Summary), q) {
			continue
		}
		l.visible = append(l.visible, f)
	}
	l.cursor = 0
	for i, f := range l.visible {
		if f.ID == keep {
			l.cursor = i
		}
	}
}

func (l *listScreen) selected() (diag.Finding, bool) {
	if l.cursor < 0 || l.cursor >= len(l.visible) {
		return diag.Finding{}, false
	}
	return l.visible[l.cursor], true
}

// selectID moves the cursor to finding id when it is visible.
func (l *listScreen) selectID(id string) {
	for i, f := range l.visible {
		if f.ID == id {
			l.cursor = i
		}
	}
}

func (l *listScreen) move(d int) {
	l.cursor = max(min(l.cursor+d, len(l.visible)-1), 0)
}

func (l *listScreen) key(msg tea.KeyMsg) tea.Cmd {
	k := l.keys
	switch {
	case key.Matches(msg, k.Up):
		l.move(-1)
	case key.Matches(msg, k.Down):
		l.move(1)
	case key.Matches(msg, k.PageUp):
		l.move(-10)
	case key.Matches(msg, k.PageDown):
		l.move(10)
	case key.Matches(msg, k.Filter):
		l.filtering = true
		return l.filter.Focus()
	case key.Matches(msg, k.Severity):
		for i, s := range severityCycle {
			if s == l.sevFilter {
				l.sevFilter = severityCycle[(i+1)%len(severityCycle)]
				break
			}
		}
		l.apply()
	case key.Matches(msg, k.Open):
		if f, ok := l.selected(); ok {
			return func() tea.Msg { return openDetailMsg{f.ID} }
		}
	case key.Matches(msg, k.Fix):
		if f, ok := l.selected(); ok {
			return startFix(f, 0, screenList)
		}
	case key.Matches(msg, k.Pick):
		if f, ok := l.selected(); ok {
			return startFix(f, int(msg.Runes[0]-'1'), screenList)
		}
	case key.Matches(msg, k.Back):
		if l.sevFilter != "" || l.filter.Value() != "" {
			l.sevFilter = ""
			l.filter.SetValue("")
			l.apply()
		}
	}
	return nil
}

func (l *listScreen) filterKey(msg tea.KeyMsg) {
	switch msg.String() {
	case "enter":
		l.filtering = false
		l.filter.Blur()
		return
	case "esc":
		l.filtering = false
		l.filter.Blur()
		l.filter.SetValue("")
		l.apply()
		return
	}
	l.filter, _ = l.filter.Update(msg)
	l.apply()
}

// View implements tea.Model.
func (l *listScreen) View() string {
	h := l.height
	var out []string
	// Title line: what is shown and how it is filtered.
	title := fmt.Sprintf("Findings %d of %d", len(l.visible), len(l.all))
	if l.sevFilter != "" {
		title += " · severity: " + l.sevFilter.Symbol() + " " + string(l.sevFilter)
	} else {
		title += " · severity: all"
	}
	if l.filtering {
		out = append(out, l.st.header.Render(title)+"  "+l.filter.View())
	} else if q := l.filter.Value(); q != "" {
		out = append(out, l.st.header.Render(title)+"  filter: "+q)
	} else {
		out = append(out, l.st.header.Render(title))
	}
	summaryH := 4
	listH := max(h-1-summaryH, 3)
	if len(l.visible) == 0 {
		msg := "No findings: every check passed or only saw what is normal."
		if len(l.all) > 0 {
			msg = "No findings match the filter (esc clears it)."
		}
		out = append(out, "", "  "+l.st.ok.Render(msg))
		return strings.Join(out, "\n")
	}
	// Rows with group headers; remember the line of the cursor.
	var rows []string
	cursorLine := 0
	var group diag.Severity = "-"
	for i, f := range l.visible {
		if f.Severity != group {
			group = f.Severity
			n := 0
			for _, g := range l.visible {
				if g.Severity == group {
					n++
				}
			}
			rows = append(rows, l.st.sev[group].Render(fmt.Sprintf("%s %s (%d)", group.Symbol(), strings.ToUpper(string(group)), n)))
		}
		if i == l.cursor {
			cursorLine = len(rows)
		}
		rows = append(rows, l.findingRow(f, i == l.cursor))
	}
	sc := scroller{lines: rows, offset: l.offset}
	sc.show(cursorLine, listH)
	if cursorLine > 0 && sc.offset == cursorLine {
		sc.show(cursorLine-1, listH) // keep the group header in view
	}
	l.offset = sc.offset
	out = append(out, sc.view(listH))
	for i := len(rows); i < listH; i++ {
		out = append(out, "")
	}
	// Summary of the selected finding.
	if f, ok := l.selected(); ok {
		out = append(out, l.st.dim.Render(strings.Repeat("─", l.width)))
		lines := wrap(f.Summary, l.width-2)
		if len(lines) > summaryH-1 {
			lines = lines[:summaryH-1]
		}
		for _, s := range lines {
			out = append(out, " "+s)
		}
	}
	return strings.Join(out, "\n")
}

// findingRow renders one finding: cursor, severity (symbol and word),
// status of a fix, title, and the ID at the right when there is room.
func (l *listScreen) findingRow(f diag.Finding, selected bool) string {
	cursor := "  "
	if selected {
		cursor = "› "
	}
	tag := ""
	if res, ok := l.s.fixed[f.ID]; ok {
		if res.Verified {
			tag = l.st.ok.Render("✔ resolved") + " "
		} else {
			tag = l.st.bad.Render("✖ not resolved") + " "
		}
	}
	if f.New {
		tag += l.st.bad.Render("new") + " "
	}
	if f.Suppressed != nil {
		tag += l.st.dim.Render("suppressed") + " "
	}
	fixes := ""
	if n := len(f.Remediations); n > 0 {
		fixes = l.st.dim.Render(fmt.Sprintf(" [%d fix]", n))
		if n > 1 {
			fixes = l.st.dim.Render(fmt.Sprintf(" [%d fixes]", n))
		}
	}
	title := f.Title
	if selected {
		title = l.st.selected.Render(title)
	}
	left := cursor + l.st.sevLabel(f.Severity) + " " + tag + title + fixes
	id := l.st.dim.Render(f.ID)
	lw, iw := ansi.StringWidth(left), ansi.StringWidth(id)
	switch {
	case lw+2+iw <= l.width:
		return left + strings.Repeat(" ", l.width-lw-iw) + id
	case l.width-iw-2 >= 40:
		return truncate(left, l.width-iw-2) + "  " + id
	}
	return left
}
