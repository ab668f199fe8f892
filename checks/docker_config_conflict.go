package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// DockerConfigConflict reports directives set both as a flag and in daemon.json.
var DockerConfigConflict = diag.Check{
	ID:    "docker.config-conflict",
	Title: "dockerd directive set both as a flag and in daemon.json",
	Doc: `A directive (hosts, insecure-registries, registry-mirrors, log-driver,
log-opts, data-root, storage-driver, iptables, bip, debug, ...) is given both
on dockerd's command line (docker.service, a drop-in such as kubespray's
docker-options.conf, DOCKER_OPTS) and in /etc/docker/daemon.json. dockerd
refuses to start ("the following directives are specified both as a flag and
in the configuration file"), so the next restart of docker, or reboot, leaves
the node without a container runtime and NotReady. The dedupe remediation
keeps the directive in the place the running daemon took it from.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceSystemd},
	Run:   runConfigConflict,
}

func runConfigConflict(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	if len(f.Conflicts) == 0 {
		return nil, nil
	}
	rows := make([][]string, len(f.Conflicts))
	keys := make([]string, len(f.Conflicts))
	for i, c := range f.Conflicts {
		keys[i] = c.Key
		rows[i] = []string{c.Key, c.Flag.Value, strings.Join(c.Flag.Tokens, " ") + " at " + c.Flag.At.String(), c.File.Value, c.File.At.String()}
	}
	fi := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Critical,
		Title:    fmt.Sprintf("dockerd will refuse to start: %s set both as a flag and in %s", strings.Join(keys, ", "), f.DaemonJSON),
		Summary:  "At its next restart dockerd stops with: " + dockerconf.ConflictError(f.DaemonJSON, f.Conflicts),
		Explanation: "Keep each directive in one place. The running daemon started before one of the two was added; " +
			"the dedupe fix removes the copy the running daemon does not use, so a restart keeps today's behaviour.",
		Evidence: []diag.Evidence{{Label: "Directives set twice", Table: &diag.Table{
			Columns: []string{"DIRECTIVE", "FLAG VALUE", "FLAG AT", "FILE VALUE", "FILE AT"}, Rows: rows}}},
	}
	if rem, ok := dedupeRemediation(pass); ok {
		fi.Remediations = append(fi.Remediations, rem)
	}
	return []diag.Finding{fi}, nil
}

// dedupeRemediation keeps each conflicting directive where the running daemon took it
// from: a flag the running process has stays and the daemon.json copy goes; otherwise the
// flag goes.
func dedupeRemediation(pass *diag.Pass) (diag.Remediation, bool) {
	f := pass.DockerConf()
	if len(f.Unparsed) > 0 {
		return refusedEdit(pass.RemediationID("dedupe"), f), true
	}
	edits := newEditSet(f)
	get := edits.get
	var lines []string
	for _, c := range f.Conflicts {
		_, runningHasFlag := diag.Option(f.Running, c.Key)
		if runningHasFlag || f.Running == nil && c.Flag.At.Origin == "unit" {
			e := get(c.File.At.File)
			dj, err := dockerconf.ParseDaemonJSON([]byte(e.after))
			if err != nil {
				return diag.Remediation{}, false
			}
			out, err := dj.Delete(c.Key)
			if err != nil {
				return diag.Remediation{}, false
			}
			e.after = string(out)
			lines = append(lines, fmt.Sprintf("%s: keep the flag (%s, what dockerd runs with); remove %q from %s (%s)", c.Key, c.Flag.Value, c.Key, c.File.At, c.File.Value))
			continue
		}
		e := get(c.Flag.At.File)
		after := e.after
		var err error
		// Tokens come in argv order; remove each flag with its value word.
		toks := c.Flag.Tokens
		for i := 0; i < len(toks); i++ {
			words := []string{toks[i]}
			if strings.HasPrefix(toks[i], "-") && !strings.Contains(toks[i], "=") && i+1 < len(toks) && !strings.HasPrefix(toks[i+1], "-") && !dockerconf.IsBoolFlag(toks[i], dockerdVersion(f)) {
				words = append(words, toks[i+1])
				i++
			}
			after, err = dockerconf.RemoveWords(after, c.Flag.At.Line, words)
			if err != nil {
				return diag.Remediation{}, false
			}
		}
		e.after = after
		lines = append(lines, fmt.Sprintf("%s: keep daemon.json (%s); drop %s from %s", c.Key, c.File.Value, strings.Join(c.Flag.Tokens, " "), c.Flag.At))
	}
	list, err := finishEdits(pass, edits.list())
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:      pass.RemediationID("dedupe"),
		Title:   "Keep each directive in one place (" + plural(len(f.Conflicts), "directive", "directives") + ") and restart docker",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(pass, strings.Join(lines, "\n"), list),
		Plan:    restartPlan(pass, list),
	}, true
}

// dockerdVersion is the dockerd release the configuration facts were judged against.
func dockerdVersion(f *diag.DockerConfFacts) dockerconf.Version {
	v, _ := dockerconf.ParseVersion(f.DockerdVersion)
	return v
}
