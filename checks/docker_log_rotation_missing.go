package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// Log rotation the log-rotation remediation sets unless the baseline names other values.
const (
	defaultLogMaxSize = "100m"
	defaultLogMaxFile = "5"
)

// DockerLogRotationMissing reports json-file logging without a size limit.
var DockerLogRotationMissing = diag.Check{
	ID:    "docker.log-rotation-missing",
	Title: "container logs without rotation",
	Doc: `dockerd's log driver is json-file (the default) and log-opts has no
max-size: every container's stdout and stderr grow without bound under
<data-root>/containers/, until the data-root filesystem fills, kubelet
reports DiskPressure and evicts pods. Evidence lists the largest log files.
The set remediation adds max-size and max-file where the configuration
already lives (daemon.json, or the DOCKER_OPTS line) and restarts docker;
the limits apply to containers created afterwards.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceSystemd},
	Run:   runLogRotation,
}

func runLogRotation(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	driver := "json-file"
	if o, ok := diag.Option(f.OnDisk, "log-driver"); ok {
		driver = o.Value
	}
	if driver != "json-file" {
		return nil, nil
	}
	if o, ok := diag.Option(f.OnDisk, "log-opts"); ok && strings.Contains(o.Value, "max-size:") {
		return nil, nil
	}
	fi := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Warning,
		Title:    "Container logs grow without limit (json-file without max-size)",
		Summary:  "dockerd logs with json-file and no max-size: container logs grow until the data-root filesystem fills.",
	}
	if len(f.LargestLogs) > 0 {
		var rows [][]string
		var total int64
		for _, l := range f.LargestLogs {
			total += l.Bytes
			rows = append(rows, []string{diag.ShortID(l.Container), diag.FormatBytes(l.Bytes), l.Path})
		}
		fi.Evidence = append(fi.Evidence, diag.Evidence{Label: fmt.Sprintf("Largest container logs (%s together)", diag.FormatBytes(total)),
			Table: &diag.Table{Columns: []string{"CONTAINER", "SIZE", "FILE"}, Rows: rows}})
	}
	if rem, ok := logRotationRemediation(pass); ok {
		fi.Remediations = append(fi.Remediations, rem)
	}
	return []diag.Finding{fi}, nil
}

// logRotationRemediation adds max-size and max-file where the logging configuration
// already lives: the --log-opt flags, daemon.json, or the DOCKER_OPTS line.
func logRotationRemediation(pass *diag.Pass) (diag.Remediation, bool) {
	f := pass.DockerConf()
	if len(f.Unparsed) > 0 {
		return refusedEdit(pass.RemediationID("set"), f), true
	}
	size, files := defaultLogMaxSize, defaultLogMaxFile
	if v := pass.Config.DockerBaseline.LogOpts["max-size"]; v != "" {
		size = v
	}
	if v := pass.Config.DockerBaseline.LogOpts["max-file"]; v != "" {
		files = v
	}
	var e plannedEdit
	var where string
	lo, hasLogOpts := diag.Option(f.OnDisk, "log-opts")
	hasMaxFile := hasLogOpts && strings.Contains(lo.Value, "max-file:")
	switch {
	case hasLogOpts && lo.FromFlag():
		e = editOf(f, lo.At.File)
		text := "--log-opt max-size=" + size
		if !hasMaxFile {
			text += " --log-opt max-file=" + files
		}
		last := lo.Tokens[len(lo.Tokens)-1]
		after, err := dockerconf.InsertAfterWords(e.after, lo.At.Line, []string{last}, text)
		if err != nil {
			return diag.Remediation{}, false
		}
		e.after, where = after, lo.At.String()
	case hasLogOpts || daemonJSONExists(f) || !hasFlagLine(f):
		e = editOf(f, f.DaemonJSON)
		dj, err := dockerconf.ParseDaemonJSON([]byte(e.after))
		if err != nil {
			return diag.Remediation{}, false
		}
		m := map[string]string{}
		if x, ok := dj.Directive("log-opts"); ok {
			if m, err = dockerconf.MapValue(x.Raw); err != nil {
				return diag.Remediation{}, false
			}
		}
		m["max-size"] = size
		if _, ok := m["max-file"]; !ok {
			m["max-file"] = files
		}
		out, err := dj.Set("log-opts", m)
		if err != nil {
			return diag.Remediation{}, false
		}
		e.after, where = string(out), f.DaemonJSON
		if !e.exists {
			e.mode = 0o644
		}
	default:
		// Flags only (kubespray): add the flags after the last flag of the drop-in line.
		o := lastDropInFlag(f)
		e = editOf(f, o.At.File)
		after, err := dockerconf.InsertAfterWords(e.after, o.At.Line, []string{o.Tokens[len(o.Tokens)-1]},
			"--log-opt max-size="+size+" --log-opt max-file="+files)
		if err != nil {
			return diag.Remediation{}, false
		}
		e.after, where = after, o.At.String()
	}
	list, err := finishEdits(pass, []plannedEdit{e})
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:    "docker.log-rotation-missing/set",
		Title: fmt.Sprintf("Rotate container logs at %s, keep %s files (in %s), and restart docker", size, files, path.Base(where)),
		Risk:  diag.RiskHigh,
		Preview: restartPreview(pass, fmt.Sprintf("Add log-opts max-size=%s max-file=%s in %s. Existing containers keep their old log settings until recreated.",
			size, files, where), list),
		Plan: restartPlan(pass, list),
	}, true
}
