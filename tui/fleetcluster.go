package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
)

// fleetCluster lists the cluster's findings: the cluster checks run once
// by the command, not on every node.
type fleetCluster struct {
	frame
	rep   *diag.Report
	known map[string]bool
	menu  menu
}

func newFleetCluster(f frame, rep *diag.Report, known map[string]bool) *fleetCluster {
	c := &fleetCluster{frame: f, rep: rep, known: known}
	c.menu.n = len(rep.Findings)
	return c
}

// Init implements tea.Model.
func (c *fleetCluster) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (c *fleetCluster) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || c.menu.key(km, c.keys, c.listHeight()) {
		return c, nil
	}
	switch {
	case key.Matches(km, c.keys.Back):
		return c, back
	case key.Matches(km, c.keys.Open) && c.menu.n > 0:
		f := c.rep.Findings[c.menu.cursor]
		nf := &fleet.NodeFinding{Severity: string(f.Severity), Finding: f.ID, Summary: f.Summary}
		d := &fleetDetail{frame: newFrame(c.st, c.keys), node: &fleet.Node{Report: c.rep}, nf: nf, known: c.known, cluster: true}
		d.render()
		return c, open(d)
	}
	return c, nil
}

func (c *fleetCluster) listHeight() int { return max(c.height-2, 1) }

// View implements tea.Model.
func (c *fleetCluster) View() string {
	rows := make([]string, 0, len(c.rep.Findings))
	for i, f := range c.rep.Findings {
		left := cursorMark(i == c.menu.cursor) + c.st.sevLabel(f.Severity) + " " + f.Title
		rows = append(rows, withRight(left, c.st.dim.Render(f.ID), c.width))
	}
	title := c.st.header.Render(fmt.Sprintf("Cluster: %d findings (checked once by the command)", len(c.rep.Findings)))
	return title + "\n\n" + c.menu.view(rows, c.listHeight())
}

// ShortHelp implements help.KeyMap.
func (c *fleetCluster) ShortHelp() []key.Binding {
	return []key.Binding{c.keys.Back, c.keys.Up, c.keys.Down, withHelp(c.keys.Open, "enter", "finding"), c.keys.Help, c.keys.Quit}
}

// FullHelp implements help.KeyMap.
func (c *fleetCluster) FullHelp() [][]key.Binding {
	return [][]key.Binding{{c.keys.Up, c.keys.Down, c.keys.PageUp, c.keys.PageDown}, {withHelp(c.keys.Open, "enter", "finding"), c.keys.Back, c.keys.Help, c.keys.Quit}}
}
