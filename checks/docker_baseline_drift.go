package checks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerBaselineDrift reports directives that differ from the configured baseline.
var DockerBaselineDrift = diag.Check{
	ID:    "docker.baseline-drift",
	Title: "dockerd configuration differs from the baseline",
	Doc: `The effective dockerd configuration on disk differs from the baseline in
ksdoctor's configuration file (section dockerBaseline: iptables,
liveRestore, dataRoot, storageDriver, logDriver, logOpts, registryMirrors,
insecureRegistries, execOpts, options). Nodes built by different installers
(kubespray's docker-options.conf, KubeKey's daemon.json) and hand edits
drift apart; one node without log rotation or with iptables off behaves
differently from its peers. Without a baseline the check is skipped.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Run:   runBaselineDrift,
}

func runBaselineDrift(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	want := baselineValues(pass.Config.DockerBaseline)
	if len(want) == 0 {
		return nil, diag.Skip("no dockerBaseline in the configuration file")
	}
	var rows [][]string
	for _, k := range slices.Sorted(maps.Keys(boolKeys(want))) {
		exp := want[k]
		actual, at := runningDefaults[k], "(default)"
		if actual == "" {
			actual, at = "(not set)", ""
		}
		if o, ok := diag.Option(f.OnDisk, k); ok {
			actual, at = o.Value, o.At.String()
		}
		if k == "log-opts" && strings.HasPrefix(exp, "map[") {
			// Only the listed log options are part of the baseline.
			if subsetMap(exp, actual) {
				continue
			}
		} else if sameValue(exp, actual) {
			continue
		}
		rows = append(rows, []string{k, exp, actual, at})
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []diag.Finding{{
		ID:       pass.FindingID(""),
		Severity: diag.Warning,
		Title:    fmt.Sprintf("dockerd configuration differs from the baseline in %s", plural(len(rows), "directive", "directives")),
		Summary:  "The configuration on disk does not match the dockerBaseline of ksdoctor's configuration file.",
		Evidence: []diag.Evidence{{Label: "Expected vs actual", Table: &diag.Table{
			Columns: []string{"DIRECTIVE", "EXPECTED", "ACTUAL", "FROM"}, Rows: rows}}},
	}}, nil
}

func boolKeys(m map[string]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// subsetMap reports whether every k:v of the rendered map want is in the rendered map got.
func subsetMap(want, got string) bool {
	g := map[string]bool{}
	for _, kv := range strings.Fields(strings.TrimSuffix(strings.TrimPrefix(got, "map["), "]")) {
		g[kv] = true
	}
	for _, kv := range strings.Fields(strings.TrimSuffix(strings.TrimPrefix(want, "map["), "]")) {
		if !g[kv] {
			return false
		}
	}
	return true
}

func baselineValues(b diag.DockerBaseline) map[string]string {
	out := map[string]string{}
	for k, v := range b.Options {
		out[k] = v
	}
	if b.IPTables != nil {
		out["iptables"] = fmt.Sprint(*b.IPTables)
	}
	if b.LiveRestore != nil {
		out["live-restore"] = fmt.Sprint(*b.LiveRestore)
	}
	str := map[string]string{"data-root": b.DataRoot, "storage-driver": b.StorageDriver, "log-driver": b.LogDriver}
	for k, v := range str {
		if v != "" {
			out[k] = v
		}
	}
	lists := map[string][]string{"registry-mirrors": b.RegistryMirrors, "insecure-registries": b.InsecureRegistries, "exec-opts": b.ExecOpts}
	for k, v := range lists {
		if len(v) > 0 {
			out[k] = "[" + strings.Join(v, " ") + "]"
		}
	}
	if len(b.LogOpts) > 0 {
		parts := make([]string, 0, len(b.LogOpts))
		for _, k := range slices.Sorted(maps.Keys(b.LogOpts)) {
			parts = append(parts, k+":"+b.LogOpts[k])
		}
		out["log-opts"] = "map[" + strings.Join(parts, " ") + "]"
	}
	return out
}
