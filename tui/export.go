package tui

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/outfile"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/report"
)

// exportedMsg says where the report was written, or why it was not.
type exportedMsg struct {
	json, md string
	err      error
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// exportCmd writes the report, with every fix applied in this session, as
// JSON and Markdown files (mode 0600, atomically).
func (m *Model) exportCmd() tea.Cmd {
	rep := *m.s.rep
	rep.Applied = append([]diag.ApplyResult(nil), m.s.applied...)
	host := unsafeName.ReplaceAllString(rep.Host.Hostname, "_")
	if host == "" {
		host = "node"
	}
	base := filepath.Join(m.s.opts.ExportDir, fmt.Sprintf("ksdoctor-%s-%s", host, m.s.opts.Now().UTC().Format("20060102T150405Z")))
	return func() tea.Msg {
		return exportReport(&rep, base)
	}
}

func exportReport(rep *diag.Report, base string) exportedMsg {
	out := exportedMsg{json: base + ".json", md: base + ".md"}
	for _, f := range []struct {
		path   string
		format report.Format
	}{{out.json, report.FormatJSON}, {out.md, report.FormatMarkdown}} {
		var buf bytes.Buffer
		if err := report.Write(&buf, rep, f.format, report.Options{}); err != nil {
			out.err = fmt.Errorf("render %s report: %w", f.format, err)
			return out
		}
		if err := outfile.Write(f.path, buf.Bytes()); err != nil {
			out.err = err
			return out
		}
	}
	return out
}

func (m *Model) onExported(msg exportedMsg) {
	if msg.err != nil {
		m.s.status = "export failed: " + redact.Line(redact.String(msg.err.Error()))
		return
	}
	m.s.status = fmt.Sprintf("exported %s and %s (mode 0600)", msg.json, msg.md)
}
