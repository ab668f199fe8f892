package tui

import (
	"context"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
)

// session is what the node screens share (soft-serve's common.Common with
// the sweep's results): the program's context, the engine, the options,
// the report shown, the fixes applied and the status line. The root model
// owns it; components read it and write only the status line and, for the
// fix dialog, what a fix applied.
type session struct {
	// ctx is the program's lifetime, the parent of every command's
	// context. A tea.Model outlives any one call, so it keeps it.
	ctx  context.Context
	eng  Engine
	opts Options

	snap    *diag.Snapshot
	rep     *diag.Report // redacted for display
	applied []diag.ApplyResult
	fixed   map[string]*diag.ApplyResult // finding ID → its last apply result
	status  string

	spin spinner.Model
	// noTicks stops spinner animation (tests drive Update synchronously).
	noTicks bool
}

func (s *session) spinView() string {
	if s.noTicks {
		return "*"
	}
	return s.spin.View()
}

// tick asks for the spinner's next frame, unless animation is off.
func (s *session) tick() tea.Cmd {
	if s.noTicks {
		return nil
	}
	return s.spin.Tick
}

// finding is finding id of the report shown.
func (s *session) finding(id string) (diag.Finding, bool) {
	if s.rep == nil {
		return diag.Finding{}, false
	}
	return s.rep.Finding(id)
}
