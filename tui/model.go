package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Default size until the terminal reports its own.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

type screen int

const (
	screenSweep screen = iota
	screenList
	screenDetail
	screenFix
)

// Model is the root Bubble Tea model of a node's TUI: it runs the sweep,
// draws the header and the help bar, handles the keys of every screen
// (quit, help, re-sweep, export) and routes the rest to the component of
// the current screen: sweep progress, findings list, finding detail or the
// fix dialog. Components ask to navigate with messages (openDetailMsg,
// showListMsg, startFixMsg, closeFixMsg).
type Model struct {
	s    *session
	keys keyMap
	st   styles
	help help.Model

	width, height int
	screen        screen
	showHelp      bool
	quitting      bool

	// sweep lifecycle
	gen         int
	cancelSweep context.CancelFunc
	sweeping    bool

	sweep  *sweepScreen
	list   *listScreen
	detail *detailScreen
	fix    *fixDialog

	// initCmd starts the first sweep.
	initCmd tea.Cmd
}

// New returns the root model. ctx bounds every command it runs.
func New(ctx context.Context, eng Engine, opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := help.New()
	h.ShortSeparator = " · "
	s := &session{ctx: ctx, eng: eng, opts: opts, fixed: map[string]*diag.ApplyResult{},
		spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
	st, keys := newStyles(), newKeyMap(opts.fixesDisabled() == "")
	f := newFrame(st, keys)
	m := Model{
		s: s, keys: keys, st: st, help: h,
		width: defaultWidth, height: defaultHeight,
		sweep:  newSweepScreen(f, s),
		list:   newListScreen(f, s),
		detail: newDetailScreen(f, s),
		fix:    newFixDialog(f, s),
	}
	m.initCmd = m.beginSweep()
	return m
}

// Init starts the first sweep; the first frame renders before it ends.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.initCmd, m.s.tick())
}

// current is the component of the current screen.
func (m *Model) current() component {
	switch m.screen {
	case screenList:
		return m.list
	case screenDetail:
		return m.detail
	case screenFix:
		return m.fix
	}
	return m.sweep
}

// busy reports whether something runs that the spinner shows.
func (m *Model) busy() bool {
	return m.sweeping || (m.screen == screenFix && m.fix.busy())
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		m.relayout()
		return nil
	case spinner.TickMsg:
		if !m.busy() || m.s.noTicks {
			return nil
		}
		var cmd tea.Cmd
		m.s.spin, cmd = m.s.spin.Update(msg)
		return cmd
	case sweepEventMsg:
		return m.onSweepEvent(msg)
	case preparedMsg, appliedMsg:
		_, cmd := m.fix.Update(msg)
		return cmd
	case exportedMsg:
		m.onExported(msg)
		return nil
	case openDetailMsg:
		m.openDetail(msg.id)
		return nil
	case showListMsg:
		m.list.selectID(msg.id)
		m.screen = screenList
		return nil
	case startFixMsg:
		return m.startFix(msg)
	case closeFixMsg:
		m.closeFix()
		return nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed faster than one read arrive together ("fy?"):
			// each is its own key press, in order.
			cmds := make([]tea.Cmd, 0, len(msg.Runes))
			for _, r := range msg.Runes {
				cmds = append(cmds, m.onKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			}
			return tea.Batch(cmds...)
		}
		return m.onKey(msg)
	}
	return nil
}

func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Interrupt) {
		if m.screen == screenFix && m.fix.interrupt() {
			// The steps in flight stop and report, rather than leave the
			// node half-changed without a word.
			return nil
		}
		return m.quit()
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	// The fix dialog owns every key: that is what makes "any other key
	// cancels" true. So does the list's filter while it is typed.
	if m.screen == screenFix || (m.screen == screenList && m.list.filtering) {
		_, cmd := m.current().Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, m.keys.Resweep) && !m.sweeping:
		return m.resweep()
	case key.Matches(msg, m.keys.Export) && m.s.rep != nil && !m.sweeping:
		m.s.status = "exporting…"
		return m.exportCmd()
	}
	_, cmd := m.current().Update(msg)
	return cmd
}

func (m *Model) quit() tea.Cmd {
	if m.cancelSweep != nil {
		m.cancelSweep()
	}
	m.fix.stop()
	m.quitting = true
	return tea.Quit
}

// openDetail shows finding id, with no way back but to the list.
func (m *Model) openDetail(id string) {
	m.detail.open(id)
	m.screen = screenDetail
}

// startFix opens the fix dialog, unless it says why it cannot.
func (m *Model) startFix(msg startFixMsg) tea.Cmd {
	cmd, ok := m.fix.start(msg.finding, msg.index, msg.from)
	if ok {
		m.screen = screenFix
	}
	return cmd
}

// closeFix goes back where the dialog was opened.
func (m *Model) closeFix() {
	m.screen = m.fix.from
	switch m.screen {
	case screenDetail:
		m.detail.render()
	case screenList:
		m.list.selectID(m.fix.finding.ID)
	}
}

// relayout gives every component the size of the body.
func (m *Model) relayout() {
	m.help.Width = m.width
	for _, c := range []component{m.sweep, m.list, m.detail, m.fix} {
		c.SetSize(m.width, m.bodyHeight())
	}
}

// bodyHeight is the number of lines between header and footer.
func (m *Model) bodyHeight() int {
	return max(m.height-4, 1)
}

// View implements tea.Model.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	h := m.bodyHeight()
	body := m.current().View()
	if m.showHelp {
		body = m.helpView()
	}
	frame := m.headerView() + "\n" + fit(body, m.width, h) + "\n" + m.footerView()
	return fit(frame, m.width, m.height)
}

func (m *Model) headerView() string {
	rep := m.s.rep
	left := m.st.title.Render("ksdoctor")
	if rep != nil {
		host := rep.Host.Hostname
		if host == "" {
			host = "(unknown host)"
		}
		left += " · " + m.st.header.Render(host) + " · " +
			m.st.dim.Render("swept "+rep.StartedAt.UTC().Format("15:04:05 UTC"))
	}
	if m.sweeping {
		left += " · " + m.s.spinView() + " sweeping…"
	}
	line1 := left
	if rep != nil {
		s := rep.Summary
		counts := fmt.Sprintf("%s  %s  %s",
			m.st.sev[diag.Critical].Render(fmt.Sprintf("%s %d critical", diag.Critical.Symbol(), s.Critical)),
			m.st.sev[diag.Warning].Render(fmt.Sprintf("%s %d warning", diag.Warning.Symbol(), s.Warning)),
			m.st.sev[diag.Info].Render(fmt.Sprintf("%s %d info", diag.Info.Symbol(), s.Info)))
		gap := m.width - lipgloss.Width(left) - lipgloss.Width(counts)
		if gap >= 2 {
			line1 = left + strings.Repeat(" ", gap) + counts
		} else {
			line1 = truncate(left, m.width-lipgloss.Width(counts)-2) + "  " + counts
		}
	}
	return line1 + "\n" + m.headerLine2()
}

func (m *Model) headerLine2() string {
	o, rep := m.s.opts, m.s.rep
	var line string
	switch {
	case o.From != nil:
		line = m.st.badge.Render(" REPLAY ") + " " + filepath.Base(o.FromPath) + " · " + o.fixesDisabled()
	case o.ReadOnly:
		line = m.st.badge.Render(" READ-ONLY ") + " " + o.fixesDisabled()
	default:
		line = m.st.dim.Render("live node")
	}
	if rep != nil {
		line += m.st.dim.Render(fmt.Sprintf(" · %s · %s on %s", checkCounts(rep.Checks), fmtMs(float64(rep.DurationMs)), rep.StartedAt.UTC().Format("2006-01-02")))
	}
	if len(m.s.applied) > 0 {
		line += m.st.dim.Render(fmt.Sprintf(" · %d applied", len(m.s.applied)))
	}
	return line
}

func checkCounts(cs []diag.CheckResult) string {
	n := map[diag.Status]int{}
	for _, c := range cs {
		n[c.Status]++
	}
	return fmt.Sprintf("%d checks: %d pass, %d fail, %d error, %d skipped",
		len(cs), n[diag.StatusPass], n[diag.StatusFail], n[diag.StatusError], n[diag.StatusSkipped])
}

func (m *Model) footerView() string {
	status := m.s.status
	if status == "" {
		status = " "
	}
	short := m.current().ShortHelp()
	if m.showHelp {
		short = []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("any key", "close help"))}
	}
	return truncate(status, m.width) + "\n" + m.help.ShortHelpView(short)
}

// withHelp returns a copy of b with other help text.
func withHelp(b key.Binding, keys, desc string) key.Binding {
	b.SetHelp(keys, desc)
	return b
}

func (m *Model) helpView() string {
	var b strings.Builder
	b.WriteString(m.st.header.Render("Keys") + "\n\n")
	hm := m.help
	hm.ShowAll = true
	b.WriteString(hm.FullHelpView(m.current().FullHelp()))
	b.WriteString("\n\n")
	if r := m.s.opts.fixesDisabled(); r != "" {
		b.WriteString(m.st.warn.Render(r) + "\n")
	} else {
		for _, l := range wrap("f opens the exact plan of the finding's first fix (1-9 pick another); only y applies, "+
			"any other key cancels. High-risk fixes need the node's hostname typed instead. "+
			"After applying, the check runs again on fresh facts to verify.", m.width) {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range wrap("e writes the report as JSON and Markdown (mode 0600), including the fixes applied.", m.width) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// fmtMs renders a duration in milliseconds for people.
func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
}
