package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/redact"
)

// FleetOptions configure the fleet view.
type FleetOptions struct {
	// Path names the report file in the header ("" for a sweep just made).
	Path string
	// Checks are the checks this ksdoctor knows: a remediation whose check
	// is not among them is shown without a command to run.
	Checks []diag.Check
}

// fleetModel is the root of the fleet view: a stack of components, the
// fleet's checks at the bottom, then one check's nodes, then one node's
// finding. It only reads the report: fixes are run on the node, with the
// command the detail shows.
type fleetModel struct {
	rep  *fleet.Report // masked, control characters made visible
	opts FleetOptions
	st   styles
	keys keyMap
	help help.Model

	width, height int
	stack         []component
	showHelp      bool
	quitting      bool
}

// newFleetModel returns the fleet view of rep. Every string of the report
// is masked and its control characters made visible here, before any of
// it can reach the terminal: node names, messages and IDs come from the
// nodes.
func newFleetModel(rep *fleet.Report, opts FleetOptions) fleetModel {
	h := help.New()
	h.ShortSeparator = " · "
	m := fleetModel{
		rep: safeFleet(rep), opts: opts, st: newStyles(), keys: newKeyMap(false), help: h,
		width: defaultWidth, height: defaultHeight,
	}
	known := map[string]bool{}
	for _, c := range opts.Checks {
		known[c.ID] = true
	}
	m.stack = []component{newFleetChecks(newFrame(m.st, m.keys), m.rep, known)}
	m.resize()
	return m
}

// safeFleet is a copy of rep as the terminal may show it: secrets masked,
// control characters (escape sequences, bidirectional controls) visible.
func safeFleet(rep *fleet.Report) *fleet.Report {
	safe := redact.Copy(redact.Report(*rep), redact.Escape)
	return &safe
}

// RunFleet shows the fleet view of rep on in/out until the user quits.
func RunFleet(ctx context.Context, rep *fleet.Report, opts FleetOptions, in io.Reader, out io.Writer) error {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	p := tea.NewProgram(newFleetModel(rep, opts), append(programOptions(in, out), tea.WithContext(ctx), tea.WithAltScreen())...)
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

// Init implements tea.Model.
func (m fleetModel) Init() tea.Cmd { return nil }

func (m fleetModel) top() component { return m.stack[len(m.stack)-1] }

// bodyHeight is the number of lines between header and footer.
func (m fleetModel) bodyHeight() int { return max(m.height-4, 1) }

func (m *fleetModel) resize() {
	m.help.Width = m.width
	for _, c := range m.stack {
		c.SetSize(m.width, m.bodyHeight())
	}
}

// Update implements tea.Model: global keys here, the rest to the top
// component; navigation comes back as openMsg and backMsg.
func (m fleetModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		m.resize()
		return m, nil
	case openMsg:
		msg.c.SetSize(m.width, m.bodyHeight())
		m.stack = append(m.stack[:len(m.stack):len(m.stack)], msg.c)
		return m, nil
	case backMsg:
		if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
		}
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed faster than one read arrive together: each is
			// its own key press, in order.
			var next tea.Model = m
			cmds := make([]tea.Cmd, 0, len(msg.Runes))
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				next, cmd = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmds = append(cmds, cmd)
			}
			return next, tea.Batch(cmds...)
		}
		switch {
		case m.showHelp:
			m.showHelp = false
			return m, nil
		case key.Matches(msg, m.keys.Quit):
			m.quitting = true
			return m, tea.Quit
		case key.Matches(msg, m.keys.Help):
			m.showHelp = true
			return m, nil
		}
	}
	_, cmd := m.top().Update(msg)
	return m, cmd
}

// View implements tea.Model.
func (m fleetModel) View() string {
	if m.quitting {
		return ""
	}
	h := m.bodyHeight()
	body := m.top().View()
	keys := m.top().ShortHelp()
	if m.showHelp {
		body = m.helpView()
		keys = []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("any key", "close help"))}
	}
	frame := m.headerView() + "\n" + fit(body, m.width, h) + "\n" + " \n" + m.help.ShortHelpView(keys)
	return fit(frame, m.width, m.height)
}

func (m fleetModel) helpView() string {
	var b strings.Builder
	b.WriteString(m.st.header.Render("Keys") + "\n\n")
	hm := m.help
	hm.ShowAll = true
	b.WriteString(hm.FullHelpView(m.top().FullHelp()))
	b.WriteString("\n\n")
	for _, l := range wrap("The fleet view reads a fleet report: checks with the nodes they found something on, "+
		"then each node's finding. Fixes are not applied from here: the finding shows the exact "+
		"'ksdoctor fix' command to run on that node, which previews the plan there and asks before applying.", m.width) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func (m fleetModel) headerView() string {
	r := m.rep
	s := r.Summary
	left := m.st.title.Render("ksdoctor") + " · " + m.st.header.Render("fleet "+r.SweepID) + " · " +
		m.st.dim.Render("swept "+r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	counts := fmt.Sprintf("%s  %s  %s",
		m.st.sev[diag.Critical].Render(fmt.Sprintf("%s %d critical", diag.Critical.Symbol(), s.Critical)),
		m.st.sev[diag.Warning].Render(fmt.Sprintf("%s %d warning", diag.Warning.Symbol(), s.Warning)),
		m.st.bad.Render(fmt.Sprintf("! %d error", s.Errored)))
	line1 := left
	if gap := m.width - lipgloss.Width(left) - lipgloss.Width(counts); gap >= 2 {
		line1 = left + strings.Repeat(" ", gap) + counts
	}
	from := "this sweep"
	if m.opts.Path != "" {
		from = filepath.Base(m.opts.Path)
	}
	line2 := m.st.badge.Render(" FLEET ") + " " + from + m.st.dim.Render(fmt.Sprintf(" · %d nodes: %d answered, %d not · exit %d · fixes run on the node, not here",
		s.Nodes, s.Answered, s.Missing, s.ExitCode))
	return line1 + "\n" + line2
}
