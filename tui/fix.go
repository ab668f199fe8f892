package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
)

// fixStage is where the fix dialog is.
type fixStage int

const (
	stageInput     fixStage = iota // asking for Remediation.Input
	stagePreparing                 // Prepare runs: a fresh look at the node
	stagePreview                   // the exact plan, waiting for y (or the hostname)
	stageApplying                  // Apply runs (then the re-check)
	stageResult                    // what was done and whether it verified
	stageError                     // Prepare failed or found nothing to do
)

// fixModel is the one-key remediation dialog: plan → confirm → apply →
// verify. It owns every key while open, so any key that is not the
// confirmation cancels.
type fixModel struct {
	finding  diag.Finding
	index    int
	rem      diag.Remediation // as the sweep offered it
	from     screen
	stage    fixStage
	op       int // guards against results of cancelled operations
	cancel   context.CancelFunc
	aborting bool
	value    textinput.Model
	host     textinput.Model
	inputs   map[string]string
	cand     *doctor.Candidate
	err      error
	res      *diag.ApplyResult
	sc       scroller
}

// preparedMsg is the answer of Engine.Prepare for operation op.
type preparedMsg struct {
	op   int
	cand *doctor.Candidate
	err  error
}

// appliedMsg is the answer of Engine.Apply for operation op.
type appliedMsg struct {
	op  int
	res *diag.ApplyResult
}

// startFix opens the dialog for remediation idx of f.
func (m *Model) startFix(f diag.Finding, idx int, from screen) tea.Cmd {
	if why := m.opts.fixesDisabled(); why != "" {
		m.status = why
		return nil
	}
	if len(f.Remediations) == 0 {
		m.status = "no fix is offered for " + f.ID
		return nil
	}
	if idx < 0 || idx >= len(f.Remediations) {
		m.status = fmt.Sprintf("%s offers %d fix(es); there is no fix %d", f.ID, len(f.Remediations), idx+1)
		return nil
	}
	op := m.fix.op + 1
	if m.fix.cancel != nil {
		m.fix.cancel()
	}
	m.fix = fixModel{finding: f, index: idx, rem: f.Remediations[idx], from: from, op: op}
	m.screen = screenFix
	m.status = ""
	if in := m.fix.rem.Input; in != nil {
		ti := newTextInput()
		ti.Prompt = "> "
		ti.Placeholder = in.Prompt
		ti.CharLimit = 4096
		m.fix.value = ti
		m.fix.stage = stageInput
		m.fix.render(m)
		return m.fix.value.Focus()
	}
	return m.prepare()
}

func (m *Model) prepare() tea.Cmd {
	fx := &m.fix
	fx.op++
	fx.stage = stagePreparing
	ctx, cancel := context.WithCancel(m.ctx)
	fx.cancel = cancel
	eng, id, inputs, op := m.eng, fx.rem.ID, fx.inputs, fx.op
	fx.render(m)
	return tea.Batch(func() tea.Msg {
		cand, err := eng.Prepare(ctx, id, inputs)
		return preparedMsg{op: op, cand: cand, err: err}
	}, m.tick())
}

func (m *Model) onPrepared(msg preparedMsg) tea.Cmd {
	fx := &m.fix
	if m.screen != screenFix || msg.op != fx.op || fx.stage != stagePreparing {
		return nil
	}
	fx.cancel()
	if msg.err != nil || msg.cand == nil {
		fx.err = msg.err
		if fx.err == nil {
			fx.err = errors.New("the engine returned no plan")
		}
		fx.stage = stageError
		fx.render(m)
		return nil
	}
	fx.cand = msg.cand
	fx.stage = stagePreview
	fx.sc.offset = 0
	if fx.cand.Remediation.Risk == diag.RiskHigh {
		ti := newTextInput()
		ti.Prompt = "hostname> "
		ti.CharLimit = 255
		fx.host = ti
		fx.render(m)
		return fx.host.Focus()
	}
	fx.render(m)
	return nil
}

func (m *Model) apply() tea.Cmd {
	fx := &m.fix
	fx.op++
	fx.stage = stageApplying
	ctx, cancel := context.WithCancel(m.ctx)
	fx.cancel = cancel
	eng, cand, op := m.eng, fx.cand, fx.op
	fx.render(m)
	m.status = "applying " + cand.Remediation.ID + "…"
	return tea.Batch(func() tea.Msg {
		return appliedMsg{op: op, res: eng.Apply(ctx, cand)}
	}, m.tick())
}

func (m *Model) onApplied(msg appliedMsg) tea.Cmd {
	fx := &m.fix
	if msg.op != fx.op || fx.stage != stageApplying || msg.res == nil {
		return nil
	}
	fx.cancel()
	// The export gets the raw result (it masks on writing); the screen a
	// masked one with control characters made visible.
	shown := redact.Copy(*msg.res, redact.Text)
	fx.res = &shown
	m.applied = append(m.applied, *msg.res)
	m.fixed[fx.finding.ID] = &shown
	fx.stage = stageResult
	if msg.res.Verified {
		m.status = "✔ " + msg.res.RemediationID + " applied and verified"
	} else {
		m.status = "✖ " + msg.res.RemediationID + " NOT verified"
	}
	fx.render(m)
	return nil
}

// hostname is what a high-risk confirmation must type: the report's host.
func (m *Model) hostname() string {
	if m.rep != nil && m.rep.Host.Hostname != "" {
		return m.rep.Host.Hostname
	}
	if c := m.fix.cand; c != nil && c.Snapshot != nil && c.Snapshot.Host != nil && c.Snapshot.Host.Hostname != "" {
		return c.Snapshot.Host.Hostname
	}
	return "yes"
}

// closeFix leaves the dialog, back where it was opened.
func (m *Model) closeFix(status string) {
	if m.fix.cancel != nil {
		m.fix.cancel()
	}
	m.fix.op++
	m.status = status
	m.screen = m.fix.from
	if m.screen == screenDetail {
		m.detail.render(m)
	}
	if m.screen == screenList {
		m.list.selectID(m.fix.finding.ID)
	}
}

func isScroll(msg tea.KeyMsg) bool {
	switch msg.Type {
	case tea.KeyUp, tea.KeyDown, tea.KeyPgUp, tea.KeyPgDown:
		return true
	}
	return false
}

// fixKey handles every key while the dialog is open.
func (m *Model) fixKey(msg tea.KeyMsg) tea.Cmd {
	fx := &m.fix
	h := m.fixContentHeight()
	switch fx.stage {
	case stageInput:
		switch msg.Type {
		case tea.KeyEsc:
			m.closeFix("cancelled: nothing applied")
			return nil
		case tea.KeyEnter:
			v := strings.TrimSpace(fx.value.Value())
			if v == "" {
				m.status = "a value is needed: " + fx.rem.Input.Prompt
				return nil
			}
			fx.inputs = map[string]string{fx.rem.Input.Name: v}
			return m.prepare()
		}
		var cmd tea.Cmd
		fx.value, cmd = fx.value.Update(msg)
		return cmd
	case stagePreparing:
		if msg.Type == tea.KeyEsc || msg.String() == "n" || msg.String() == "q" {
			m.closeFix("cancelled: nothing applied")
		}
		return nil
	case stagePreview:
		if isScroll(msg) {
			switch msg.Type {
			case tea.KeyUp:
				fx.sc.scroll(-1, h)
			case tea.KeyDown:
				fx.sc.scroll(1, h)
			case tea.KeyPgUp:
				fx.sc.scroll(-h+1, h)
			case tea.KeyPgDown:
				fx.sc.scroll(h-1, h)
			}
			return nil
		}
		if fx.cand.Remediation.Risk == diag.RiskHigh {
			switch msg.Type {
			case tea.KeyEsc:
				m.closeFix("cancelled: nothing applied")
				return nil
			case tea.KeyEnter:
				if fx.host.Value() == m.hostname() {
					return m.apply()
				}
				m.closeFix(fmt.Sprintf("hostname did not match %q: nothing applied", m.hostname()))
				return nil
			}
			var cmd tea.Cmd
			fx.host, cmd = fx.host.Update(msg)
			return cmd
		}
		if key.Matches(msg, m.keys.Apply) {
			return m.apply()
		}
		if key.Matches(msg, m.keys.Pick) {
			if idx := int(msg.Runes[0] - '1'); idx != fx.index && idx < len(fx.finding.Remediations) {
				return m.startFix(fx.finding, idx, fx.from)
			}
		}
		m.closeFix("cancelled: nothing applied")
		return nil
	case stageApplying:
		m.status = "applying: wait for the result (ctrl+c aborts the remaining steps)"
		return nil
	case stageResult, stageError:
		m.closeFix(m.status)
		return nil
	}
	return nil
}

// fixPrompt is the part of the dialog pinned below the scrolled plan.
func (m *Model) fixPrompt() []string {
	fx := &m.fix
	st := m.st
	rule := st.dim.Render(strings.Repeat("─", m.width))
	switch fx.stage {
	case stageInput:
		return []string{rule, st.header.Render(fx.rem.Input.Prompt) + st.dim.Render(" · enter continues to the preview · esc cancels"), fx.value.View()}
	case stagePreparing:
		return []string{rule, m.spinView() + " taking a fresh look at the node to prepare the exact plan… (esc cancels)"}
	case stagePreview:
		if fx.cand.Remediation.Risk == diag.RiskHigh {
			return []string{rule,
				st.bad.Render("HIGH RISK.") + " Type the node's hostname (" + st.header.Render(m.hostname()) + ") and press enter to apply; esc cancels.",
				fx.host.View()}
		}
		return []string{rule, st.header.Render("Apply this plan?") + " " + st.ok.Render("y") + " applies · n, esc, enter or any other key cancels"}
	case stageApplying:
		return []string{rule, m.spinView() + " applying, then re-checking on fresh facts…"}
	case stageResult, stageError:
		return []string{rule, st.dim.Render("press any key to go back")}
	}
	return nil
}

func (m *Model) fixContentHeight() int {
	return max(m.bodyHeight()-len(m.fixPrompt()), 1)
}

func (m *Model) fixView(h int) string {
	prompt := m.fixPrompt()
	ch := max(h-len(prompt), 1)
	return fit(m.fix.sc.view(ch), m.width, ch) + "\n" + strings.Join(prompt, "\n")
}

func (m *Model) fixKeys(k keyMap) helpKeys {
	full := k.fullHelp()
	switch m.fix.stage {
	case stagePreview:
		if m.fix.cand.Remediation.Risk == diag.RiskHigh {
			return helpKeys{short: []key.Binding{withHelp(k.Submit, "enter", "apply if the hostname matches"), withHelp(k.Back, "esc", "cancel"), withHelp(k.Down, "↑/↓", "scroll")}, full: full}
		}
		short := []key.Binding{k.Apply, k.Cancel, withHelp(k.Down, "↑/↓", "scroll")}
		if len(m.fix.finding.Remediations) > 1 {
			short = append(short, k.Pick)
		}
		return helpKeys{short: short, full: full}
	case stageInput:
		return helpKeys{short: []key.Binding{k.Submit, withHelp(k.Back, "esc", "cancel")}, full: full}
	case stagePreparing:
		return helpKeys{short: []key.Binding{withHelp(k.Back, "esc", "cancel")}, full: full}
	case stageApplying:
		return helpKeys{short: []key.Binding{k.Interrupt}, full: full}
	}
	return helpKeys{short: []key.Binding{withHelp(k.Back, "any key", "back")}, full: full}
}

// render rebuilds the dialog's scrolled content.
func (fx *fixModel) render(m *Model) {
	st := m.st
	w := m.width
	var out []string
	add := func(lines ...string) { out = append(out, lines...) }
	rem := fx.rem
	if fx.cand != nil {
		// The candidate stays raw (it is what gets applied); the screen
		// shows it masked and with control characters made visible.
		rem = redact.Copy(fx.cand.Remediation, redact.Text)
	}
	n := len(fx.finding.Remediations)
	add(st.title.Render(fmt.Sprintf("Fix %d/%d: ", fx.index+1, n)) + st.header.Render(rem.Title) + " · " + riskLabel(st, rem.Risk))
	add("for " + st.sevLabel(fx.finding.Severity) + " " + fx.finding.Title + "  " + st.dim.Render(fx.finding.ID))
	switch fx.stage {
	case stageInput:
		add("", "This fix needs a value before its plan can be made:")
		add("  " + rem.Input.Prompt)
	case stagePreparing:
		add("", st.dim.Render("remediation "+rem.ID))
	case stagePreview, stageApplying:
		add(st.dim.Render("remediation " + rem.ID + " · plan made from a fresh look at the node"))
		add("")
		for _, l := range strings.Split(rem.Preview, "\n") {
			add(wrap(l, w)...)
		}
		add("")
		plan := "Plan: 1 step"
		if n := len(rem.Plan.Steps); n != 1 {
			plan = fmt.Sprintf("Plan: %d steps", n)
		}
		if rem.Plan.Transactional {
			plan += ", transactional: the first failure stops it and undoes the steps done"
		} else {
			plan += ", each step stands alone"
		}
		add(st.group.Render(plan))
		for i, s := range rem.Plan.Steps {
			add(fmt.Sprintf("  %d. %s  %s", i+1, s.Description, st.dim.Render("["+string(s.Kind)+"]")))
			for _, l := range stepPayload(s) {
				add(diffStyle(st, "     "+l))
			}
		}
		if n > 1 && fx.stage == stagePreview {
			add("", st.group.Render("Other fixes"))
			for i, r := range fx.finding.Remediations {
				if i != fx.index {
					add(fmt.Sprintf("  [%d] %s · %s", i+1, r.Title, riskLabel(st, r.Risk)))
				}
			}
		}
	case stageResult:
		add("")
		add(resultLines(st, fx.res, w)...)
	case stageError:
		add("")
		var nn *doctor.NotNeededError
		if errors.As(fx.err, &nn) {
			add(st.ok.Render("Nothing to do now:"))
		} else {
			add(st.bad.Render("Could not prepare this fix:"))
		}
		add(wrap(redact.Text(fx.err.Error()), w)...)
		add("", "Nothing was applied.")
	}
	fx.sc.set(out)
}

// diffStyle colours the added and removed lines of a diff block.
func diffStyle(st styles, l string) string {
	body := strings.TrimLeft(l, " ")
	switch {
	case strings.HasPrefix(body, "+++") || strings.HasPrefix(body, "---"):
		return st.bold.Render(l)
	case strings.HasPrefix(body, "+"):
		return st.ok.Render(l)
	case strings.HasPrefix(body, "-"):
		return st.bad.Render(l)
	}
	return st.dim.Render(l)
}

// resultLines renders an apply result.
func resultLines(st styles, res *diag.ApplyResult, w int) []string {
	var out []string
	if res.Verified {
		out = append(out, st.ok.Render("✔ Verified: ")+res.Title)
	} else {
		out = append(out, st.bad.Render("✖ NOT verified: ")+res.Title)
	}
	for _, l := range wrap(res.VerifyDetail, w-2) {
		out = append(out, "  "+l)
	}
	line := fmt.Sprintf("%d done · %d skipped · %d already done · %d failed · %s",
		res.Count(diag.OutcomeDone), res.Count(diag.OutcomeSkipped), res.Count(diag.OutcomeNoop), res.Count(diag.OutcomeFailed), fmtMs(res.DurationMs))
	if res.RolledBack {
		line += " · rolled back"
	}
	out = append(out, "", line)
	if res.Error != "" {
		for _, l := range wrap("error: "+res.Error, w) {
			out = append(out, st.bad.Render(l))
		}
	}
	out = append(out, "", st.group.Render("Steps"))
	for _, s := range res.Steps {
		mark := st.ok.Render("✔")
		switch s.Outcome {
		case diag.OutcomeFailed:
			mark = st.bad.Render("✖")
		case diag.OutcomeSkipped, diag.OutcomeNoop:
			mark = st.dim.Render("-")
		}
		detail := ""
		if s.Detail != "" {
			detail = st.dim.Render(" — " + s.Detail)
		}
		out = append(out, fmt.Sprintf("  %s %-8s %s%s", mark, s.Outcome, s.Step.Description, detail))
	}
	return out
}

// stepPayload renders a step's typed payload generically, so the preview
// shows exactly what the executor will receive (IDs, rules, diffs): one
// line of key=value pairs per object, multi-line strings (diffs) as
// indented blocks, nested objects as "parent.child" lines.
func stepPayload(s diag.Step) []string {
	data, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil
	}
	delete(fields, "description")
	delete(fields, "kind")
	var out []string
	top := ""
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var obj map[string]any
		if json.Unmarshal(fields[k], &obj) != nil {
			top = strings.TrimSpace(top + "  " + k + ": " + string(fields[k]))
			continue
		}
		out = append(out, payloadObject(k, obj)...)
	}
	if top != "" {
		out = append([]string{top}, out...)
	}
	return out
}

func payloadObject(name string, obj map[string]any) []string {
	type pair struct{ k, v string }
	var pairs []pair
	var blocks, nested []string
	diff, _ := obj["diff"].(string)
	subkeys := make([]string, 0, len(obj))
	for k := range obj {
		subkeys = append(subkeys, k)
	}
	sort.Strings(subkeys)
	for _, sk := range subkeys {
		switch v := obj[sk].(type) {
		case map[string]any:
			nested = append(nested, payloadObject(name+"."+sk, v)...)
			continue
		case string:
			if sk == "content" && diff != "" {
				// The diff below shows the change; the whole new file
				// would only push it off the screen.
				pairs = append(pairs, pair{sk, fmt.Sprintf("<%d bytes: the diff below applied>", len(v))})
				continue
			}
			if strings.Contains(v, "\n") {
				blocks = append(blocks, sk+":")
				for _, l := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
					blocks = append(blocks, "  "+l)
				}
				continue
			}
		}
		v, _ := json.Marshal(obj[sk])
		pairs = append(pairs, pair{sk, string(v)})
	}
	// Short values first, so names are seen before long IDs are cut.
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].v) < len(pairs[j].v) })
	texts := make([]string, len(pairs))
	for i, p := range pairs {
		texts[i] = p.k + "=" + p.v
	}
	out := []string{name + ": " + strings.Join(texts, " ")}
	out = append(out, blocks...)
	return append(out, nested...)
}
