package tui

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Colours are fixed ANSI-256 values: adaptive colours would make lipgloss
// query the terminal's background, which delays the first frame.
var (
	colCritical = lipgloss.Color("196")
	colWarning  = lipgloss.Color("214")
	colInfo     = lipgloss.Color("39")
	colOK       = lipgloss.Color("42")
	colDim      = lipgloss.Color("245")
	colAccent   = lipgloss.Color("212")
)

// styles holds every style the views use.
type styles struct {
	title    lipgloss.Style
	header   lipgloss.Style
	badge    lipgloss.Style
	dim      lipgloss.Style
	bold     lipgloss.Style
	selected lipgloss.Style
	ok       lipgloss.Style
	bad      lipgloss.Style
	warn     lipgloss.Style
	group    lipgloss.Style
	link     lipgloss.Style
	dialog   lipgloss.Style
	sev      map[diag.Severity]lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:    lipgloss.NewStyle().Bold(true).Foreground(colAccent),
		header:   lipgloss.NewStyle().Bold(true),
		badge:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("0")).Background(colWarning),
		dim:      lipgloss.NewStyle().Foreground(colDim),
		bold:     lipgloss.NewStyle().Bold(true),
		selected: lipgloss.NewStyle().Bold(true).Reverse(true),
		ok:       lipgloss.NewStyle().Foreground(colOK),
		bad:      lipgloss.NewStyle().Foreground(colCritical),
		warn:     lipgloss.NewStyle().Foreground(colWarning),
		group:    lipgloss.NewStyle().Bold(true).Underline(true),
		link:     lipgloss.NewStyle().Foreground(colInfo).Underline(true),
		dialog:   lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(colAccent).Padding(0, 1),
		sev: map[diag.Severity]lipgloss.Style{
			diag.Critical: lipgloss.NewStyle().Bold(true).Foreground(colCritical),
			diag.Warning:  lipgloss.NewStyle().Bold(true).Foreground(colWarning),
			diag.Info:     lipgloss.NewStyle().Foreground(colInfo),
		},
	}
}

// sevLabel is symbol + word, padded to a fixed width.
func (st styles) sevLabel(s diag.Severity) string {
	word := string(s)
	if word == "" {
		word = "unknown"
	}
	txt := s.Symbol() + " " + word
	for len([]rune(txt)) < 10 {
		txt += " "
	}
	if sty, ok := st.sev[s]; ok {
		return sty.Render(txt)
	}
	return txt
}

// statusLabel renders a check status with a symbol and a word.
func (st styles) statusLabel(s diag.Status) string {
	switch s {
	case diag.StatusPass:
		return st.ok.Render("✔ pass   ")
	case diag.StatusFail:
		return st.bad.Render("✖ fail   ")
	case diag.StatusError:
		return st.bad.Render("! error  ")
	case diag.StatusSkipped:
		return st.dim.Render("- skipped")
	}
	return string(s)
}
