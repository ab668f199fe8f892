package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Result is what a TUI session did, for the caller's exit code.
type Result struct {
	Report  *diag.Report
	Applied []diag.ApplyResult
}

// Run shows the TUI on in/out until the user quits or ctx ends. NO_COLOR
// (set, any value) turns colour off; meaning never rests on colour alone.
func Run(ctx context.Context, eng Engine, opts Options, in io.Reader, out io.Writer) (Result, error) {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	m := New(ctx, eng, opts)
	p := tea.NewProgram(m, append(programOptions(in, out), tea.WithContext(ctx), tea.WithAltScreen())...)
	final, err := p.Run()
	var res Result
	if fm, ok := final.(Model); ok {
		res = Result{Report: fm.s.rep, Applied: fm.s.applied}
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return res, fmt.Errorf("terminal UI: %w", err)
	}
	return res, nil
}

// programOptions are the Bubble Tea options of every TUI program. 120
// frames per second halves the wait for the first frame (the renderer
// flushes on its ticker); frames are only written when they change.
func programOptions(in io.Reader, out io.Writer) []tea.ProgramOption {
	return []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(120)}
}
