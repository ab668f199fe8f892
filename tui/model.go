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

// Model is the root Bubble Tea model: it owns the sweep's results and
// routes messages to the sub-model of the current screen.
type Model struct {
	// ctx is the program's lifetime, the parent of every command's
	// context. A tea.Model outlives any one call, so it keeps it.
	ctx  context.Context
	eng  Engine
	opts Options
	keys keyMap
	st   styles
	help help.Model
	spin spinner.Model

	width, height int
	screen        screen
	showHelp      bool
	status        string
	quitting      bool

	// sweep state
	gen         int
	cancelSweep context.CancelFunc
	sweeping    bool
	sweep       sweepModel

	snap    *diag.Snapshot
	rep     *diag.Report // redacted for display
	applied []diag.ApplyResult
	fixed   map[string]*diag.ApplyResult // finding ID → its last apply result

	list   listModel
	detail detailModel
	fix    fixModel

	// initCmd starts the first sweep.
	initCmd tea.Cmd
	// noTicks stops spinner animation (tests drive Update synchronously).
	noTicks bool
}

// New returns the root model. ctx bounds every command it runs.
func New(ctx context.Context, eng Engine, opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := help.New()
	h.ShortSeparator = " · "
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m := Model{
		ctx:    ctx,
		eng:    eng,
		opts:   opts,
		keys:   newKeyMap(opts.fixesDisabled() == ""),
		st:     newStyles(),
		help:   h,
		spin:   sp,
		width:  defaultWidth,
		height: defaultHeight,
		fixed:  map[string]*diag.ApplyResult{},
		list:   newListModel(),
	}
	m.initCmd = m.beginSweep()
	return m
}

// Init starts the first sweep; the first frame renders before it ends.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.initCmd, m.tick())
}

func (m *Model) tick() tea.Cmd {
	if m.noTicks {
		return nil
	}
	return m.spin.Tick
}

// busy reports whether something runs that the spinner shows.
func (m *Model) busy() bool {
	return m.sweeping || (m.screen == screenFix && (m.fix.stage == stagePreparing || m.fix.stage == stageApplying))
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
		if !m.busy() || m.noTicks {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case sweepEventMsg:
		return m.onSweepEvent(msg)
	case preparedMsg:
		return m.onPrepared(msg)
	case appliedMsg:
		return m.onApplied(msg)
	case exportedMsg:
		m.onExported(msg)
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
		if m.screen == screenFix && m.fix.stage == stageApplying && !m.fix.aborting {
			// Let the steps in flight stop and report, rather than leave
			// the node half-changed without a word.
			m.fix.aborting = true
			m.fix.cancel()
			m.status = "aborting: waiting for the steps in flight to stop (ctrl+c again quits at once)"
			return nil
		}
		return m.quit()
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	// The fix dialog owns every key: that is what makes "any other key
	// cancels" true.
	if m.screen == screenFix {
		return m.fixKey(msg)
	}
	if m.screen == screenList && m.list.filtering {
		m.listFilterKey(msg)
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, m.keys.Resweep) && !m.sweeping:
		return m.resweep()
	case key.Matches(msg, m.keys.Export) && m.rep != nil && !m.sweeping:
		m.status = "exporting…"
		return m.exportCmd()
	}
	switch m.screen {
	case screenList:
		return m.listKey(msg)
	case screenDetail:
		return m.detailKey(msg)
	}
	return nil
}

func (m *Model) quit() tea.Cmd {
	if m.cancelSweep != nil {
		m.cancelSweep()
	}
	if m.fix.cancel != nil {
		m.fix.cancel()
	}
	m.quitting = true
	return tea.Quit
}

// relayout recomputes what depends on the terminal size.
func (m *Model) relayout() {
	m.help.Width = m.width
	if m.screen == screenDetail {
		m.detail.render(m)
	}
	if m.screen == screenFix {
		m.fix.render(m)
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
	var body string
	switch {
	case m.showHelp:
		body = m.helpView(h)
	case m.screen == screenSweep:
		body = m.sweepView(h)
	case m.screen == screenList:
		body = m.listView(h)
	case m.screen == screenDetail:
		body = m.detailView(h)
	case m.screen == screenFix:
		body = m.fixView(h)
	}
	frame := m.headerView() + "\n" + fit(body, m.width, h) + "\n" + m.footerView()
	return fit(frame, m.width, m.height)
}

func (m *Model) headerView() string {
	left := m.st.title.Render("ksdoctor")
	if m.rep != nil {
		host := m.rep.Host.Hostname
		if host == "" {
			host = "(unknown host)"
		}
		left += " · " + m.st.header.Render(host) + " · " +
			m.st.dim.Render("swept "+m.rep.StartedAt.UTC().Format("15:04:05 UTC"))
	}
	if m.sweeping {
		left += " · " + m.spinView() + " sweeping…"
	}
	line1 := left
	if m.rep != nil {
		s := m.rep.Summary
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
	var line2 string
	switch {
	case m.opts.From != nil:
		line2 = m.st.badge.Render(" REPLAY ") + " " + filepath.Base(m.opts.FromPath) + " · " + m.opts.fixesDisabled()
	case m.opts.ReadOnly:
		line2 = m.st.badge.Render(" READ-ONLY ") + " " + m.opts.fixesDisabled()
	default:
		line2 = m.st.dim.Render("live node")
	}
	if m.rep != nil {
		line2 += m.st.dim.Render(fmt.Sprintf(" · %s · %s on %s", checkCounts(m.rep.Checks), fmtMs(float64(m.rep.DurationMs)), m.rep.StartedAt.UTC().Format("2006-01-02")))
	}
	if len(m.applied) > 0 {
		line2 += m.st.dim.Render(fmt.Sprintf(" · %d applied", len(m.applied)))
	}
	return line1 + "\n" + line2
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
	status := m.status
	if status == "" {
		status = " "
	}
	return truncate(status, m.width) + "\n" + m.help.ShortHelpView(m.screenKeys().ShortHelp())
}

// screenKeys are the keys that do something on the current screen.
func (m *Model) screenKeys() helpKeys {
	k := m.keys
	full := k.fullHelp()
	switch {
	case m.showHelp:
		return helpKeys{short: []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("any key", "close help"))}, full: full}
	case m.screen == screenSweep:
		return helpKeys{short: []key.Binding{k.Help, k.Quit}, full: full}
	case m.screen == screenList && m.list.filtering:
		return helpKeys{short: []key.Binding{k.Submit, withHelp(k.Back, "esc", "clear filter")}, full: full}
	case m.screen == screenList:
		return helpKeys{short: []key.Binding{k.Up, k.Down, k.Open, k.Fix, k.Filter, k.Severity, k.Resweep, k.Export, k.Help, k.Quit}, full: full}
	case m.screen == screenDetail:
		return helpKeys{short: []key.Binding{k.Back, k.Up, k.Down, k.NextLink, withHelp(k.Open, "enter", "follow link"), k.Fix, k.Pick, k.Export, k.Help, k.Quit}, full: full}
	case m.screen == screenFix:
		return m.fixKeys(k)
	}
	return helpKeys{short: []key.Binding{k.Help, k.Quit}, full: full}
}

// withHelp returns a copy of b with other help text.
func withHelp(b key.Binding, keys, desc string) key.Binding {
	b.SetHelp(keys, desc)
	return b
}

func (m *Model) helpView(h int) string {
	var b strings.Builder
	b.WriteString(m.st.header.Render("Keys") + "\n\n")
	hm := m.help
	hm.ShowAll = true
	b.WriteString(hm.FullHelpView(m.keys.fullHelp()))
	b.WriteString("\n\n")
	if r := m.opts.fixesDisabled(); r != "" {
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

func (m *Model) spinView() string {
	if m.noTicks {
		return "*"
	}
	return m.spin.View()
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
