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
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen(), tea.WithFPS(120))
	final, err := p.Run()
	var res Result
	if fm, ok := final.(Model); ok {
		res = Result{Report: fm.rep, Applied: fm.applied}
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return res, fmt.Errorf("terminal UI: %w", err)
	}
	return res, nil
}
