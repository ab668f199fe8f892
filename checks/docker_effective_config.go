package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerEffectiveConfig shows what dockerd is configured with, option by option.
var DockerEffectiveConfig = diag.Check{
	ID:    "docker.effective-config",
	Title: "dockerd's effective configuration",
	Doc: `An observation, not a problem: every dockerd option the files on disk give
(docker.service, its drop-ins in the order systemd applies them, the
Environment= and EnvironmentFile= variables ExecStart expands, daemon.json)
with its value, the file and line it comes from, and the value of the
running process. It answers "what does dockerd run with, and why" before
any edit.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Run:   runEffectiveConfig,
}

func runEffectiveConfig(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if f.Unit == nil && len(f.OnDisk) == 0 {
		return nil, diag.Skip("no docker.service unit and no daemon.json on this node")
	}
	var rows [][]string
	for _, o := range f.OnDisk {
		run := ""
		if f.Running != nil && o.FromFlag() {
			run = "(not set)"
			if r, ok := diag.Option(f.Running, o.Key); ok {
				run = r.Value
			}
		}
		rows = append(rows, []string{o.Key, o.Value, o.At.String(), run})
	}
	files := 0
	for _, cf := range f.Files {
		if cf.Exists && !cf.Masked {
			files++
		}
	}
	fi := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Info,
		Title:    fmt.Sprintf("dockerd configuration: %s from %s", plural(len(f.OnDisk), "directive", "directives"), plural(files, "file", "files")),
		Summary:  "What dockerd starts with, and where each option comes from.",
		Evidence: []diag.Evidence{{Label: "Options", Table: capRows(&diag.Table{Columns: []string{"DIRECTIVE", "ON DISK", "FROM", "RUNNING"}, Rows: rows})}},
	}
	if u := f.Unit; u != nil {
		fi.Evidence = append(fi.Evidence,
			diag.Evidence{Label: "Unit", Value: strings.Join(append([]string{u.Path}, u.DropIns...), ", ")},
			diag.Evidence{Label: "ExecStart (" + u.ExecStartAt.String() + ")", Value: strings.Join(u.Argv, " ")})
	}
	dj := f.DaemonJSON
	if !daemonJSONExists(f) {
		dj += " (not present)"
	}
	fi.Evidence = append(fi.Evidence, diag.Evidence{Label: "daemon.json", Value: dj})
	return []diag.Finding{fi}, nil
}
