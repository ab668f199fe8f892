package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
)

// fleetSevLabel is a fleet severity (a finding's, or "error" for a check
// that could not judge) as symbol and word, padded to a fixed width.
func fleetSevLabel(st styles, s string) string {
	if s == "error" {
		return st.bad.Render("! error   ")
	}
	return st.sevLabel(diag.Severity(s))
}

// fleetChecks is the first fleet screen: every check that found something
// (or could not judge) with its node count, worst first, and the nodes
// that did not answer.
type fleetChecks struct {
	frame
	rep   *fleet.Report
	known map[string]bool
	menu  menu
}

func newFleetChecks(f frame, rep *fleet.Report, known map[string]bool) *fleetChecks {
	c := &fleetChecks{frame: f, rep: rep, known: known}
	c.menu.n = len(rep.Checks)
	if rep.Summary.Missing > 0 {
		c.menu.n++
	}
	if c.hasCluster() {
		c.menu.n++
	}
	return c
}

// hasCluster says whether the first row is the cluster's findings.
func (c *fleetChecks) hasCluster() bool {
	return c.rep.Cluster != nil && len(c.rep.Cluster.Findings) > 0
}

// Init implements tea.Model.
func (c *fleetChecks) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (c *fleetChecks) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || c.menu.key(km, c.keys, c.listHeight()) {
		return c, nil
	}
	if key.Matches(km, c.keys.Open) && c.menu.n > 0 {
		f, i := newFrame(c.st, c.keys), c.menu.cursor
		if c.hasCluster() {
			if i == 0 {
				return c, open(newFleetCluster(f, c.rep.Cluster, c.known))
			}
			i--
		}
		if i < len(c.rep.Checks) {
			return c, open(newFleetNodes(f, c.rep, &c.rep.Checks[i], c.known))
		}
		return c, open(newFleetNodes(f, c.rep, nil, c.known))
	}
	return c, nil
}

func (c *fleetChecks) listHeight() int { return max(c.height-2, 1) }

// View implements tea.Model.
func (c *fleetChecks) View() string {
	r := c.rep
	title := c.st.header.Render(fmt.Sprintf("Checks with findings across %d nodes (%d answered)", r.Summary.Nodes, r.Summary.Answered))
	if c.menu.n == 0 {
		return title + "\n\n  " + c.st.ok.Render("Nothing found on the nodes that answered.")
	}
	rows := make([]string, 0, c.menu.n)
	if c.hasCluster() {
		rows = append(rows, cursorMark(c.menu.cursor == 0)+fleetSevLabel(c.st, string(r.Cluster.Summary.Worst()))+" "+
			padRight(fmt.Sprintf("%d findings", len(r.Cluster.Findings)), 16)+" cluster (checked once)")
	}
	for _, ch := range r.Checks {
		count := fmt.Sprintf("%d of %d nodes", ch.Count, ch.Of)
		left := cursorMark(len(rows) == c.menu.cursor) + fleetSevLabel(c.st, ch.Severity) + " " + padRight(count, 16) + " " + ch.Check
		rows = append(rows, withRight(left, c.st.dim.Render(ch.Title), c.width))
	}
	if r.Summary.Missing > 0 {
		rows = append(rows, cursorMark(c.menu.cursor == len(rows))+c.st.warn.Render("? missing ")+" "+
			padRight(fmt.Sprintf("%d of %d nodes", r.Summary.Missing, r.Summary.Nodes), 16)+" did not answer")
	}
	return title + "\n\n" + c.menu.view(rows, c.listHeight())
}

// ShortHelp implements help.KeyMap.
func (c *fleetChecks) ShortHelp() []key.Binding {
	return []key.Binding{c.keys.Up, c.keys.Down, withHelp(c.keys.Open, "enter", "nodes"), c.keys.Help, c.keys.Quit}
}

// FullHelp implements help.KeyMap.
func (c *fleetChecks) FullHelp() [][]key.Binding {
	return [][]key.Binding{{c.keys.Up, c.keys.Down, c.keys.PageUp, c.keys.PageDown}, {withHelp(c.keys.Open, "enter", "nodes"), c.keys.Help, c.keys.Quit}}
}

// withRight puts right at the end of a w-cell line after left when there
// is room.
func withRight(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+2+rw <= w {
		return left + strings.Repeat(" ", w-lw-rw) + right
	}
	return left + "  " + right
}

// fleetNodes is the second fleet screen: the nodes one check found
// something on (check nil: the nodes that did not answer, with why).
type fleetNodes struct {
	frame
	rep   *fleet.Report
	check *fleet.CheckAcross
	known map[string]bool
	// missing are the nodes without a report (check nil).
	missing []*fleet.Node
	menu    menu
}

func newFleetNodes(f frame, rep *fleet.Report, check *fleet.CheckAcross, known map[string]bool) *fleetNodes {
	n := &fleetNodes{frame: f, rep: rep, check: check, known: known}
	if check != nil {
		n.menu.n = len(check.Nodes)
		return n
	}
	for i := range rep.Nodes {
		if !rep.Nodes[i].Answered {
			n.missing = append(n.missing, &rep.Nodes[i])
		}
	}
	n.menu.n = len(n.missing)
	return n
}

// Init implements tea.Model.
func (n *fleetNodes) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (n *fleetNodes) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || n.menu.key(km, n.keys, n.listHeight()) {
		return n, nil
	}
	switch {
	case key.Matches(km, n.keys.Back):
		return n, back
	case key.Matches(km, n.keys.Open) && n.menu.n > 0:
		f := newFrame(n.st, n.keys)
		if n.check == nil {
			return n, open(newFleetDetail(f, n.missing[n.menu.cursor], nil, n.known))
		}
		nf := n.check.Nodes[n.menu.cursor]
		return n, open(newFleetDetail(f, n.node(nf.Node), &nf, n.known))
	}
	return n, nil
}

// node is the report's node called name.
func (n *fleetNodes) node(name string) *fleet.Node {
	for i := range n.rep.Nodes {
		if n.rep.Nodes[i].Name == name {
			return &n.rep.Nodes[i]
		}
	}
	return &fleet.Node{Name: name}
}

func (n *fleetNodes) listHeight() int { return max(n.height-2, 1) }

// View implements tea.Model.
func (n *fleetNodes) View() string {
	var title string
	var rows []string
	if n.check == nil {
		title = fmt.Sprintf("%d nodes did not answer", len(n.missing))
		for i, nd := range n.missing {
			rows = append(rows, cursorMark(i == n.menu.cursor)+padRight(nd.Name, 24)+" "+n.st.warn.Render(nd.Reason)+n.st.dim.Render(": "+oneLine(nd.Detail)))
		}
	} else {
		c := n.check
		title = fmt.Sprintf("%s: %d of %d nodes", c.Check, c.Count, c.Of)
		if c.Title != "" {
			title += " · " + c.Title
		}
		for i, nf := range c.Nodes {
			rows = append(rows, cursorMark(i == n.menu.cursor)+padRight(nf.Node, 24)+" "+fleetSevLabel(n.st, nf.Severity)+" "+oneLine(nf.Summary))
		}
	}
	return n.st.header.Render(title) + "\n\n" + n.menu.view(rows, n.listHeight())
}

// ShortHelp implements help.KeyMap.
func (n *fleetNodes) ShortHelp() []key.Binding {
	return []key.Binding{n.keys.Back, n.keys.Up, n.keys.Down, withHelp(n.keys.Open, "enter", "finding on the node"), n.keys.Help, n.keys.Quit}
}

// FullHelp implements help.KeyMap.
func (n *fleetNodes) FullHelp() [][]key.Binding {
	return [][]key.Binding{{n.keys.Up, n.keys.Down, n.keys.PageUp, n.keys.PageDown}, {withHelp(n.keys.Open, "enter", "finding on the node"), n.keys.Back, n.keys.Help, n.keys.Quit}}
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// fleetDetail is the third fleet screen: one node's finding (or why the
// node has no report), with the exact command that fixes it on that node.
type fleetDetail struct {
	frame
	node  *fleet.Node
	nf    *fleet.NodeFinding // nil: the node did not answer
	known map[string]bool
	// cluster: the finding is the cluster's, checked once by the command
	// (node holds the cluster report).
	cluster bool
	sc      scroller
}

func newFleetDetail(f frame, node *fleet.Node, nf *fleet.NodeFinding, known map[string]bool) *fleetDetail {
	d := &fleetDetail{frame: f, node: node, nf: nf, known: known}
	d.render()
	return d
}

// SetSize implements component: the text is wrapped to the new width.
func (d *fleetDetail) SetSize(w, h int) {
	d.frame.SetSize(w, h)
	d.render()
}

// Init implements tea.Model.
func (d *fleetDetail) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (d *fleetDetail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return d, nil
	}
	h := d.height
	switch {
	case key.Matches(km, d.keys.Back):
		return d, back
	case key.Matches(km, d.keys.Up):
		d.sc.scroll(-1, h)
	case key.Matches(km, d.keys.Down):
		d.sc.scroll(1, h)
	case key.Matches(km, d.keys.PageUp):
		d.sc.scroll(-h+1, h)
	case key.Matches(km, d.keys.PageDown):
		d.sc.scroll(h-1, h)
	}
	return d, nil
}

// View implements tea.Model.
func (d *fleetDetail) View() string { return d.sc.view(d.height) }

// ShortHelp implements help.KeyMap.
func (d *fleetDetail) ShortHelp() []key.Binding {
	return []key.Binding{d.keys.Back, withHelp(d.keys.Down, "↑/↓", "scroll"), d.keys.Help, d.keys.Quit}
}

// FullHelp implements help.KeyMap.
func (d *fleetDetail) FullHelp() [][]key.Binding {
	return [][]key.Binding{{d.keys.Up, d.keys.Down, d.keys.PageUp, d.keys.PageDown}, {d.keys.Back, d.keys.Help, d.keys.Quit}}
}

func (d *fleetDetail) render() {
	st, w := d.st, d.width
	out := []string{st.title.Render("Node ") + st.header.Render(d.node.Name)}
	if d.cluster {
		out = []string{st.title.Render("Cluster ") + st.header.Render("(checked once by the command)")}
	}
	if d.nf == nil {
		out = append(out, "", st.warn.Render("did not answer: "+d.node.Reason))
		out = append(out, wrap(d.node.Detail, w)...)
		if d.node.Job != "" || d.node.Pod != "" {
			out = append(out, "", st.dim.Render("job "+d.node.Job+" · pod "+d.node.Pod))
		}
		d.sc.set(out)
		return
	}
	f, ok := diag.Finding{}, false
	if d.node.Report != nil && d.nf.Finding != "" {
		f, ok = d.node.Report.Finding(d.nf.Finding)
	}
	if !ok {
		// A check that could not judge, or a finding the node's report
		// does not hold: the merged summary is all there is.
		out = append(out, fleetSevLabel(st, d.nf.Severity)+" "+st.dim.Render(d.nf.Finding), "")
		out = append(out, wrap(d.nf.Summary, w)...)
		d.sc.set(out)
		return
	}
	out = append(out, st.sevLabel(f.Severity)+" "+st.header.Render(f.Title), st.dim.Render(f.ID), "")
	out = append(out, wrap(f.Summary, w)...)
	// The command first: at 3 a.m. it is what the screen is for.
	where := "Fix on node " + d.node.Name
	if d.cluster {
		where = "Fix in the cluster"
	}
	out = append(out, "", st.group.Render(where))
	out = append(out, d.fixLines(f)...)
	out = append(out, findingWhy(st, f, w)...)
	d.sc.set(out)
}

// fixLines are the finding's fixes, each with the exact command to run on
// the node.
func (d *fleetDetail) fixLines(f diag.Finding) []string {
	st := d.st
	if len(f.Remediations) == 0 {
		return []string{"  no fix is offered for this finding"}
	}
	where := "on node " + d.node.Name
	if d.cluster {
		where = "with the kubeconfig (--kubeconfig, --context) of this cluster"
	}
	out := wrap("Fixes are not applied from the fleet view. Run the command "+where+
		": it takes a fresh look there, shows the exact plan and asks before applying.", d.width)
	for i, r := range f.Remediations {
		out = append(out, "", fmt.Sprintf("  [%d] %s · %s", i+1, r.Title, riskLabel(st, r.Risk)))
		cmd, note := fixCommand(r, d.known)
		if cmd == "" {
			out = append(out, "      "+st.bad.Render(note))
			continue
		}
		out = append(out, "      "+cmd)
		if note != "" {
			out = append(out, "      "+st.dim.Render(note))
		}
	}
	return out
}
