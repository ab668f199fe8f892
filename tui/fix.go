package tui

import (
	"context"
	"errors"
	"fmt"
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

// fixDialog is the one-key remediation dialog: plan → confirm → apply →
// verify. It owns every key while open, so any key that is not the
// confirmation cancels; it asks the root to close it with closeFixMsg.
type fixDialog struct {
	frame
	s        *session
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

// closeFixMsg asks the root to go back where the dialog was opened.
type closeFixMsg struct{}

func newFixDialog(f frame, s *session) *fixDialog {
	return &fixDialog{frame: f, s: s}
}

// start opens the dialog for remediation idx of f; ok is false (and the
// status says why) when there is no such fix or fixes are off.
func (fx *fixDialog) start(f diag.Finding, idx int, from screen) (tea.Cmd, bool) {
	s := fx.s
	if why := s.opts.fixesDisabled(); why != "" {
		s.status = why
		return nil, false
	}
	if len(f.Remediations) == 0 {
		s.status = "no fix is offered for " + f.ID
		return nil, false
	}
	if idx < 0 || idx >= len(f.Remediations) {
		s.status = fmt.Sprintf("%s offers %d fix(es); there is no fix %d", f.ID, len(f.Remediations), idx+1)
		return nil, false
	}
	fx.stop()
	*fx = fixDialog{frame: fx.frame, s: s, finding: f, index: idx, rem: f.Remediations[idx], from: from, op: fx.op + 1}
	s.status = ""
	if in := fx.rem.Input; in != nil {
		ti := newTextInput()
		ti.Prompt = "> "
		ti.Placeholder = in.Prompt
		ti.CharLimit = 4096
		fx.value = ti
		fx.stage = stageInput
		fx.render()
		return fx.value.Focus(), true
	}
	return fx.prepare(), true
}

// stop cancels what the dialog runs.
func (fx *fixDialog) stop() {
	if fx.cancel != nil {
		fx.cancel()
	}
}

// busy reports whether the dialog waits for the engine.
func (fx *fixDialog) busy() bool {
	return fx.stage == stagePreparing || fx.stage == stageApplying
}

// interrupt handles ctrl+c: while a fix applies, the first one aborts the
// remaining steps and waits for their report (true); otherwise it is the
// root's to quit (false).
func (fx *fixDialog) interrupt() bool {
	if fx.stage != stageApplying || fx.aborting {
		return false
	}
	fx.aborting = true
	fx.cancel()
	fx.s.status = "aborting: waiting for the steps in flight to stop (ctrl+c again quits at once)"
	return true
}

func (fx *fixDialog) prepare() tea.Cmd {
	fx.op++
	fx.stage = stagePreparing
	ctx, cancel := context.WithCancel(fx.s.ctx)
	fx.cancel = cancel
	eng, id, inputs, op := fx.s.eng, fx.rem.ID, fx.inputs, fx.op
	fx.render()
	return tea.Batch(func() tea.Msg {
		cand, err := eng.Prepare(ctx, id, inputs)
		return preparedMsg{op: op, cand: cand, err: err}
	}, fx.s.tick())
}

func (fx *fixDialog) onPrepared(msg preparedMsg) tea.Cmd {
	if msg.op != fx.op || fx.stage != stagePreparing {
		return nil
	}
	fx.cancel()
	if msg.err != nil || msg.cand == nil {
		fx.err = msg.err
		if fx.err == nil {
			fx.err = errors.New("the engine returned no plan")
		}
		fx.stage = stageError
		fx.render()
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
		fx.render()
		return fx.host.Focus()
	}
	fx.render()
	return nil
}

func (fx *fixDialog) apply() tea.Cmd {
	fx.op++
	fx.stage = stageApplying
	ctx, cancel := context.WithCancel(fx.s.ctx)
	fx.cancel = cancel
	eng, cand, op := fx.s.eng, fx.cand, fx.op
	fx.render()
	fx.s.status = "applying " + cand.Remediation.ID + "…"
	return tea.Batch(func() tea.Msg {
		return appliedMsg{op: op, res: eng.Apply(ctx, cand)}
	}, fx.s.tick())
}

func (fx *fixDialog) onApplied(msg appliedMsg) tea.Cmd {
	if msg.op != fx.op || fx.stage != stageApplying || msg.res == nil {
		return nil
	}
	fx.cancel()
	// The export gets the raw result (it masks on writing); the screen a
	// masked one with control characters made visible.
	shown := redact.Copy(*msg.res, redact.Text)
	fx.res = &shown
	s := fx.s
	s.applied = append(s.applied, *msg.res)
	s.fixed[fx.finding.ID] = &shown
	fx.stage = stageResult
	if msg.res.Verified {
		s.status = "✔ " + msg.res.RemediationID + " applied and verified"
	} else {
		s.status = "✖ " + msg.res.RemediationID + " NOT verified"
	}
	fx.render()
	return nil
}

// hostname is what a high-risk confirmation must type: the report's host.
func (fx *fixDialog) hostname() string {
	if r := fx.s.rep; r != nil && r.Host.Hostname != "" {
		return r.Host.Hostname
	}
	if c := fx.cand; c != nil && c.Snapshot != nil && c.Snapshot.Host != nil && c.Snapshot.Host.Hostname != "" {
		return c.Snapshot.Host.Hostname
	}
	return "yes"
}

// close leaves the dialog with status, back where it was opened.
func (fx *fixDialog) close(status string) tea.Cmd {
	fx.stop()
	fx.op++
	fx.s.status = status
	return func() tea.Msg { return closeFixMsg{} }
}

// Init implements tea.Model.
func (fx *fixDialog) Init() tea.Cmd { return nil }

// SetSize implements component: the plan is wrapped to the new width.
func (fx *fixDialog) SetSize(w, h int) {
	fx.frame.SetSize(w, h)
	if fx.rem.ID != "" {
		fx.render()
	}
}

// Update implements tea.Model: the engine's answers and every key while
// the dialog is open.
func (fx *fixDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case preparedMsg:
		return fx, fx.onPrepared(msg)
	case appliedMsg:
		return fx, fx.onApplied(msg)
	case tea.KeyMsg:
		return fx, fx.key(msg)
	}
	return fx, nil
}

func (fx *fixDialog) key(msg tea.KeyMsg) tea.Cmd {
	switch fx.stage {
	case stageInput:
		return fx.inputKey(msg)
	case stagePreparing:
		if msg.Type == tea.KeyEsc || msg.String() == "n" || msg.String() == "q" {
			return fx.close("cancelled: nothing applied")
		}
	case stagePreview:
		return fx.previewKey(msg)
	case stageApplying:
		fx.s.status = "applying: wait for the result (ctrl+c aborts the remaining steps)"
	case stageResult, stageError:
		return fx.close(fx.s.status)
	}
	return nil
}

func (fx *fixDialog) inputKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		return fx.close("cancelled: nothing applied")
	case tea.KeyEnter:
		v := strings.TrimSpace(fx.value.Value())
		if v == "" {
			fx.s.status = "a value is needed: " + fx.rem.Input.Prompt
			return nil
		}
		fx.inputs = map[string]string{fx.rem.Input.Name: v}
		return fx.prepare()
	}
	var cmd tea.Cmd
	fx.value, cmd = fx.value.Update(msg)
	return cmd
}

func (fx *fixDialog) previewKey(msg tea.KeyMsg) tea.Cmd {
	h := fx.contentHeight()
	switch msg.Type {
	case tea.KeyUp:
		fx.sc.scroll(-1, h)
		return nil
	case tea.KeyDown:
		fx.sc.scroll(1, h)
		return nil
	case tea.KeyPgUp:
		fx.sc.scroll(-h+1, h)
		return nil
	case tea.KeyPgDown:
		fx.sc.scroll(h-1, h)
		return nil
	}
	if fx.cand.Remediation.Risk == diag.RiskHigh {
		switch msg.Type {
		case tea.KeyEsc:
			return fx.close("cancelled: nothing applied")
		case tea.KeyEnter:
			if fx.host.Value() == fx.hostname() {
				return fx.apply()
			}
			return fx.close(fmt.Sprintf("hostname did not match %q: nothing applied", fx.hostname()))
		}
		var cmd tea.Cmd
		fx.host, cmd = fx.host.Update(msg)
		return cmd
	}
	if key.Matches(msg, fx.keys.Apply) {
		return fx.apply()
	}
	if key.Matches(msg, fx.keys.Pick) {
		if idx := int(msg.Runes[0] - '1'); idx != fx.index && idx < len(fx.finding.Remediations) {
			cmd, _ := fx.start(fx.finding, idx, fx.from)
			return cmd
		}
	}
	return fx.close("cancelled: nothing applied")
}
