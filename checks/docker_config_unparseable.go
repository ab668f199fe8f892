package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerConfigUnparseable reports configuration files dockerd or systemd cannot parse.
var DockerConfigUnparseable = diag.Check{
	ID:    "docker.config-unparseable",
	Title: "dockerd configuration file that does not parse",
	Doc: `A docker.service drop-in, an EnvironmentFile, the DOCKER_OPTS value or
/etc/docker/daemon.json cannot be parsed: invalid JSON, an unterminated
quote, a line that is not an assignment, a second ExecStart= without the
empty ExecStart= that resets the list. dockerd (or systemd) refuses to start
docker at its next restart with most of these. The finding names the file,
line and column; the other docker configuration checks still run on what
could be read.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Run:   runConfigUnparseable,
}

func runConfigUnparseable(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	byFile := map[string][]diag.ConfProblem{}
	var files []string
	for _, p := range f.Problems {
		if _, ok := byFile[p.File]; !ok {
			files = append(files, p.File)
		}
		byFile[p.File] = append(byFile[p.File], p)
	}
	var out []diag.Finding
	for _, file := range files {
		ps := byFile[file]
		// Critical when the problem stops docker from starting: invalid daemon.json, a
		// unit systemd refuses, a missing EnvironmentFile.
		sev := diag.Warning
		if stopsDocker(f, file, ps) {
			sev = diag.Critical
		}
		rows := make([][]string, len(ps))
		for i, p := range ps {
			rows[i] = []string{position(p), p.Message}
		}
		fi := diag.Finding{
			ID:       pass.FindingID(file),
			Severity: sev,
			Title:    fmt.Sprintf("%s: %s", file, ps[0].Message),
			Summary:  fmt.Sprintf("%s has %s that dockerd or systemd cannot parse.", file, plural(len(ps), "problem", "problems")),
			Evidence: []diag.Evidence{{Label: "Problems", Table: capRows(&diag.Table{Columns: []string{"POSITION", "PROBLEM"}, Rows: rows})},
				releaseEvidence(f)},
		}
		if f.StartError != "" {
			fi.Explanation = "docker will not start with the files as they are: " + f.StartError
		} else {
			fi.Explanation = "Fix the file by hand; ksdoctor does not guess what was meant."
		}
		out = append(out, fi)
	}
	return out, nil
}

// stopsDocker reports whether the problems of file keep docker from starting: an invalid
// daemon.json, a unit systemd refuses, a missing EnvironmentFile. Conflicts are left to
// docker.config-conflict.
func stopsDocker(f *diag.DockerConfFacts, file string, ps []diag.ConfProblem) bool {
	if f.StartError == "" || strings.Contains(f.StartError, "specified both") {
		return false
	}
	for _, p := range ps {
		if p.Fatal {
			return true
		}
	}
	if file == f.DaemonJSON || strings.Contains(f.StartError, file) {
		return true
	}
	for _, p := range ps {
		if strings.Contains(p.Message, "refuse") && !strings.Contains(p.Message, "20.10") {
			return true
		}
	}
	return false
}

func position(p diag.ConfProblem) string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Column > 0 {
			s += fmt.Sprintf(":%d", p.Column)
		}
	}
	return s
}

// releaseEvidence says which dockerd release the files were judged against, and where
// that came from.
func releaseEvidence(f *diag.DockerConfFacts) diag.Evidence {
	v := "unknown: only what no dockerd from 18.09 to 29.0 accepts is judged fatal"
	if f.DockerdVersion != "" {
		v = "dockerd " + f.DockerdVersion
	}
	if f.DockerdVersionSource != "" {
		v += " (" + f.DockerdVersionSource + ")"
	}
	return diag.Evidence{Label: "Judged against", Value: v}
}
