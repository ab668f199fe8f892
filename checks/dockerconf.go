package checks

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// Log rotation the log-rotation remediation sets unless the baseline names other values.
const (
	defaultLogMaxSize = "100m"
	defaultLogMaxFile = "5"
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

func runConfigUnparseable(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	f := s.DockerConf
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
			ID:       "docker.config-unparseable/" + file,
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

// unparsedSkip skips a check that judges what the configuration says when a file of
// it does not parse (or systemd refuses the unit): its content is unknown, and judging
// dockerd's defaults instead would be wrong.
func unparsedSkip(f *diag.DockerConfFacts) error {
	if len(f.Unparsed) == 0 {
		return nil
	}
	return diag.Skip("%s does not parse (see docker.config-unparseable): what it sets is unknown, so defaults are not judged",
		strings.Join(f.Unparsed, ", "))
}

// refusedEdit is a remediation that will not edit a file that does not parse: an empty
// plan whose title and preview say why.
func refusedEdit(id string, f *diag.DockerConfFacts) diag.Remediation {
	why := strings.Join(f.Unparsed, ", ") + " does not parse"
	return diag.Remediation{
		ID:      id,
		Title:   "Cannot change the docker configuration: " + why,
		Risk:    diag.RiskHigh,
		Preview: "Refused: " + why + "; ksdoctor does not edit a file it cannot read whole. Fix the file by hand (see docker.config-unparseable). Nothing will be changed.",
	}
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
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc, diag.SourceSystemd},
	Run:   runConfigConflict,
}

func runConfigConflict(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	f := s.DockerConf
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
		ID:       "docker.config-conflict",
		Check:    "docker.config-conflict",
		Severity: diag.Critical,
		Title:    fmt.Sprintf("dockerd will refuse to start: %s set both as a flag and in %s", strings.Join(keys, ", "), f.DaemonJSON),
		Summary:  "At its next restart dockerd stops with: " + dockerconf.ConflictError(f.DaemonJSON, f.Conflicts),
		Explanation: "Keep each directive in one place. The running daemon started before one of the two was added; " +
			"the dedupe fix removes the copy the running daemon does not use, so a restart keeps today's behaviour.",
		Evidence: []diag.Evidence{{Label: "Directives set twice", Table: &diag.Table{
			Columns: []string{"DIRECTIVE", "FLAG VALUE", "FLAG AT", "FILE VALUE", "FILE AT"}, Rows: rows}}},
	}
	if rem, ok := dedupeRemediation(s); ok {
		fi.Remediations = append(fi.Remediations, rem)
	}
	return []diag.Finding{fi}, nil
}

// DockerOptionsDrift reports a dockerd that does not run with the configuration on disk.
var DockerOptionsDrift = diag.Check{
	ID:    "docker.options-drift",
	Title: "dockerd runs with options other than those on disk",
	Doc: `The configuration on disk (docker.service, its drop-ins and the
environment they expand, daemon.json) differs from what the running dockerd
was started with: a file was edited but docker not restarted, or the unit
was edited without systemctl daemon-reload. The next restart (or reboot)
changes the daemon's behaviour, at a moment nobody chose. Evidence lists each
option on disk and running, with the file and line, and where the running
value was read: the process's command line, or, when /proc shows no dockerd
(a pod without hostPID), the Docker API (/info: registry mirrors, insecure
registries, data-root, logging and cgroup drivers, live-restore, debug,
labels; /networks/bridge: bip, mtu, icc, ip-masq), compared as dockerd
normalises them. The API does not report --iptables or log-opts. The
restart remediation applies what is on disk after checking that dockerd will
accept it.`,
	Needs: []diag.Source{diag.SourceDockerConf},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc, diag.SourceSystemd},
	Run:   runOptionsDrift,
}

// runningDefaults are the values dockerd uses for directives nobody set.
var runningDefaults = map[string]string{
	"data-root": "/var/lib/docker", "log-driver": "json-file", "live-restore": "false", "iptables": "true",
}

func runOptionsDrift(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	f := s.DockerConf
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	apiMode := f.Running == nil
	if apiMode && len(apiRunningOptions(s.Docker)) == 0 {
		if st := s.Sources[diag.SourceDockerdProc]; st != nil && !st.OK && !st.Absent {
			// Not "no dockerd": the process could not be looked for.
			return nil, fmt.Errorf("could not judge: the running dockerd could not be read (%s) and the Docker API did not answer", st.Error)
		}
		return nil, diag.Skip("no running dockerd to compare with: /proc shows no dockerd and the Docker API did not answer")
	}
	if f.Unit == nil {
		return nil, diag.Skip("no docker.service unit on disk to compare with")
	}
	var rows [][]string
	done := map[string]bool{}
	if !apiMode {
		rows, done = processDriftRows(f)
		// With the process read, the API adds only what argv cannot show.
		for _, o := range apiRunningOptions(s.Docker) {
			if o.key != "data-root" && o.key != "log-driver" && o.key != "storage-driver" {
				done[o.key] = true
			}
		}
	}
	rows = append(rows, apiDriftRows(s, done)...)
	var changed []string
	if !f.DockerdStartedAt.IsZero() {
		for _, cf := range f.Files {
			if cf.Exists && !cf.Masked && cf.ModTime.After(f.DockerdStartedAt.Add(time.Second)) {
				changed = append(changed, fmt.Sprintf("%s modified %s, after dockerd started (%s)", cf.Path,
					cf.ModTime.Format(time.RFC3339), f.DockerdStartedAt.Format(time.RFC3339)))
				if cf.Role == "daemon.json" {
					// Its values at start are unknown: the file itself is the drift.
					rows = append(rows, []string{cf.Path, "modified " + cf.ModTime.Format(time.RFC3339), cf.Path,
						"read at start " + f.DockerdStartedAt.Format(time.RFC3339), fromProcess + " start time"})
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	fi := diag.Finding{
		ID:       "docker.options-drift",
		Check:    "docker.options-drift",
		Severity: diag.Warning,
		Title:    fmt.Sprintf("dockerd runs with %s other than the configuration on disk", plural(len(rows), "option", "options")),
		Summary: "The files on disk were changed after dockerd started (or systemd was not reloaded): the next restart " +
			"or reboot changes these options.",
		Evidence: []diag.Evidence{{Label: "Options on disk vs running", Table: &diag.Table{
			Columns: []string{"OPTION", "ON DISK", "FROM", "RUNNING", "RUNNING VALUE FROM"}, Rows: rows}}},
	}
	if apiMode {
		fi.Evidence = append(fi.Evidence, diag.Evidence{Label: "Running values from",
			Value: "the Docker API (/info, /networks/bridge): /proc shows no dockerd (a pod without hostPID?); the API does not report --iptables, --ip-forward or log-opts"})
	}
	if len(changed) > 0 {
		fi.Evidence = append(fi.Evidence, diag.Evidence{Label: "Changed since dockerd started", Value: strings.Join(changed, "; ")})
	}
	if f.StartError != "" {
		fi.Explanation = "Do not restart docker now: it would not start with the files on disk (" + f.StartError + ")."
		fi.CausedBy = []string{"docker.config-conflict"}
	} else {
		fi.Remediations = append(fi.Remediations, restartRemediation(s))
	}
	return []diag.Finding{fi}, nil
}

// processDriftRows compares the flags on disk with the running process's argv; it returns
// the rows and the keys compared.
func processDriftRows(f *diag.DockerConfFacts) ([][]string, map[string]bool) {
	var rows [][]string
	var onDiskFlags []diag.DockerOption
	for _, o := range f.OnDisk {
		if o.FromFlag() {
			onDiskFlags = append(onDiskFlags, o)
		}
	}
	keys := map[string]bool{}
	for _, o := range onDiskFlags {
		keys[o.Key] = true
	}
	for _, o := range f.Running {
		keys[o.Key] = true
	}
	for _, k := range sortedKeys(keys) {
		d, dok := diag.Option(onDiskFlags, k)
		r, rok := diag.Option(f.Running, k)
		if dok && rok && sameValue(d.Value, r.Value) {
			continue
		}
		disk, dAt, run := "(not set)", "", "(not set)"
		if dok {
			disk, dAt = d.Value, d.At.String()
		}
		if rok {
			run = r.Value
		}
		rows = append(rows, []string{"--" + flagName(d, r), disk, dAt, run, fromProcess})
	}
	return rows, keys
}

func flagName(a, b diag.DockerOption) string {
	if a.Flag != "" {
		return a.Flag
	}
	return b.Flag
}

// sameValue compares rendered values, ignoring the order of list items.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	if strings.HasPrefix(a, "[") && strings.HasPrefix(b, "[") {
		x, y := strings.Fields(strings.Trim(a, "[]")), strings.Fields(strings.Trim(b, "[]"))
		// Registry mirrors are stored with a trailing slash when given as flags.
		for i := range x {
			x[i] = strings.TrimSuffix(x[i], "/")
		}
		for i := range y {
			y[i] = strings.TrimSuffix(y[i], "/")
		}
		sort.Strings(x)
		sort.Strings(y)
		return slices.Equal(x, y)
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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

func runBaselineDrift(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	f := s.DockerConf
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	want := baselineValues(cfg.DockerBaseline)
	if len(want) == 0 {
		return nil, diag.Skip("no dockerBaseline in the configuration file")
	}
	var rows [][]string
	for _, k := range sortedKeys(boolKeys(want)) {
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
		ID:       "docker.baseline-drift",
		Check:    "docker.baseline-drift",
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
		for _, k := range dockerconf.SortedKeys(b.LogOpts) {
			parts = append(parts, k+":"+b.LogOpts[k])
		}
		out["log-opts"] = "map[" + strings.Join(parts, " ") + "]"
	}
	return out
}

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
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc, diag.SourceSystemd},
	Run:   runLogRotation,
}

func runLogRotation(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	f := s.DockerConf
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
		ID:       "docker.log-rotation-missing",
		Check:    "docker.log-rotation-missing",
		Severity: diag.Warning,
		Title:    "Container logs grow without limit (json-file without max-size)",
		Summary:  "dockerd logs with json-file and no max-size: container logs grow until the data-root filesystem fills.",
	}
	if len(f.LargestLogs) > 0 {
		var rows [][]string
		var total int64
		for _, l := range f.LargestLogs {
			total += l.Bytes
			rows = append(rows, []string{shortID(l.Container), bytesIEC(l.Bytes), l.Path})
		}
		fi.Evidence = append(fi.Evidence, diag.Evidence{Label: fmt.Sprintf("Largest container logs (%s together)", bytesIEC(total)),
			Table: &diag.Table{Columns: []string{"CONTAINER", "SIZE", "FILE"}, Rows: rows}})
	}
	if rem, ok := logRotationRemediation(s, cfg); ok {
		fi.Remediations = append(fi.Remediations, rem)
	}
	return []diag.Finding{fi}, nil
}

// plannedEdit is a file change computed from the snapshot.
type plannedEdit struct {
	path, before, after, beforeSum string
	exists                         bool
	mode                           uint32
}

// editSet collects the planned edits of one remediation, one per file, in
// the order the files were first touched.
type editSet struct {
	facts  *diag.DockerConfFacts
	byPath map[string]*plannedEdit
	order  []string
}

func newEditSet(f *diag.DockerConfFacts) *editSet {
	return &editSet{facts: f, byPath: map[string]*plannedEdit{}}
}

// get returns the edit of file p, starting it from the file's content.
func (es *editSet) get(p string) *plannedEdit {
	if e, ok := es.byPath[p]; ok {
		return e
	}
	e := editOf(es.facts, p)
	es.byPath[p] = &e
	es.order = append(es.order, p)
	return &e
}

// list returns the edits in order.
func (es *editSet) list() []plannedEdit {
	out := make([]plannedEdit, 0, len(es.order))
	for _, p := range es.order {
		out = append(out, *es.byPath[p])
	}
	return out
}

func editOf(f *diag.DockerConfFacts, p string) plannedEdit {
	cf, _ := f.File(p)
	return plannedEdit{path: p, before: cf.Content, after: cf.Content, beforeSum: cf.SHA256, exists: cf.Exists, mode: cf.Mode}
}

func (e plannedEdit) step() diag.Step {
	verb := "edit"
	if !e.exists {
		verb = "create"
	}
	return diag.Step{
		Kind:        diag.StepFileEdit,
		Description: fmt.Sprintf("%s %s (backup beside it)", verb, e.path),
		File: &diag.FileEdit{Path: e.path, BeforeSHA256: e.beforeSum, Content: e.after, Mode: e.mode,
			Diff: dockerconf.UnifiedDiff(e.path, e.before, e.after)},
	}
}

// blastRadius describes what a docker restart interrupts.
func blastRadius(s *diag.Snapshot) string {
	var b strings.Builder
	live := false
	if s.Docker != nil {
		live = s.Docker.LiveRestore
	}
	if f := s.DockerConf; f != nil && !live {
		if o, ok := diag.Option(f.OnDisk, "live-restore"); ok && o.Value == "true" {
			live = true
		}
	}
	if s.Docker == nil || !s.Docker.Reachable {
		b.WriteString("Blast radius: unknown (the Docker API did not answer).\n")
	} else {
		running := 0
		pods := map[string]bool{}
		for _, c := range s.Docker.Containers {
			if c.State != "running" {
				continue
			}
			running++
			if c.KubeletManaged() {
				ns, name := c.Labels["io.kubernetes.pod.namespace"], c.Labels["io.kubernetes.pod.name"]
				if name == "" {
					name = c.Name
				}
				pods[ns+"/"+name] = true
			}
		}
		fmt.Fprintf(&b, "Blast radius: %s and %s on this node ", plural(running, "running container", "running containers"), plural(len(pods), "Kubernetes pod", "Kubernetes pods"))
		if live {
			b.WriteString("keep running through the restart (live-restore is on); the Docker API is down meanwhile.\n")
		} else {
			b.WriteString("are stopped by the restart (live-restore is off); containers with a restart policy and pods come back after it.\n")
		}
		if len(pods) > 0 {
			names := sortedKeys(pods)
			if len(names) > 10 {
				names = append(names[:10], fmt.Sprintf("… and %d more", len(pods)-10))
			}
			fmt.Fprintf(&b, "  pods: %s\n", strings.Join(names, ", "))
		}
	}
	return b.String()
}

// restartPlan builds the transactional plan: edits, validation, then a restart that rolls
// back (restore files, restart again) when docker does not come back.
func restartPlan(s *diag.Snapshot, edits []plannedEdit) diag.Plan {
	svc := &diag.ServiceTarget{Unit: dockerconf.UnitName}
	steps := []diag.Step{{Kind: diag.StepServiceRestartOnRollback, Description: "on failure: restore the files, systemctl daemon-reload, restart docker", Service: svc}}
	unitChanged := false
	for _, e := range edits {
		steps = append(steps, e.step())
		if !strings.HasSuffix(e.path, ".json") {
			unitChanged = true
		}
	}
	steps = append(steps, diag.Step{Kind: diag.StepDockerConfigValidate, Description: "check that dockerd accepts the configuration now on disk"})
	if unitChanged || len(edits) == 0 {
		steps = append(steps, diag.Step{Kind: diag.StepServiceDaemonReload, Description: "systemctl daemon-reload"})
	}
	if s.Systemd != nil && s.Systemd.Unit.InStartLimit() {
		steps = append(steps, diag.Step{Kind: diag.StepServiceResetFailed, Description: "systemctl reset-failed docker.service (its start limit is used up)", Service: svc})
	}
	steps = append(steps,
		diag.Step{Kind: diag.StepServiceRestart, Description: "systemctl restart docker.service", Service: svc},
		diag.Step{Kind: diag.StepDockerWaitReady, Description: "wait until the Docker API answers"},
	)
	return diag.Plan{Steps: steps, Transactional: true}
}

func restartPreview(s *diag.Snapshot, intro string, edits []plannedEdit) string {
	var b strings.Builder
	b.WriteString(intro + "\n")
	for _, e := range edits {
		b.WriteString(dockerconf.UnifiedDiff(e.path, e.before, e.after))
	}
	b.WriteString("Then: check the new configuration for conflicts; systemctl daemon-reload; systemctl restart docker.service; wait for the Docker API.\n")
	b.WriteString("A backup of each file is kept beside it; if docker does not come back, the files are restored and docker restarted again.\n")
	b.WriteString(serviceManagerLine(s))
	b.WriteString(blastRadius(s))
	return strings.TrimRight(b.String(), "\n")
}

// serviceManagerLine says which service manager will restart docker and in
// what state systemd holds docker.service, the start limit above all: a unit
// that used it up refuses every start until reset-failed.
func serviceManagerLine(s *diag.Snapshot) string {
	if s.Systemd == nil {
		return "Services: systemd not reached over D-Bus (see the systemd source); systemctl if on the node, else refused before any change.\n"
	}
	u := s.Systemd.Unit
	line := fmt.Sprintf("Services: %s; %s is %s (%s), last result %s, restarted %d times by systemd, start limit %s.\n",
		s.Systemd.Manager, u.Name, u.ActiveState, u.SubState, u.Result, u.NRestarts, u.StartLimit())
	if u.InStartLimit() {
		line += "docker.service has used up its start limit: systemd refuses to start it until reset-failed, so the plan runs systemctl reset-failed docker.service before the restart.\n"
	}
	return line
}

// finishEdits drops unchanged edits and refuses a set that would not start.
func finishEdits(s *diag.Snapshot, edits []plannedEdit) ([]plannedEdit, error) {
	var out []plannedEdit
	m := map[string]string{}
	for _, e := range edits {
		if e.after != e.before || !e.exists {
			out = append(out, e)
			m[e.path] = e.after
		}
	}
	if p := dockerconf.Predict(s.DockerConf, m); p.StartError != "" {
		return nil, fmt.Errorf("dockerd would still refuse to start: %s", p.StartError)
	}
	return out, nil
}

func restartRemediation(s *diag.Snapshot) diag.Remediation {
	return diag.Remediation{
		ID:      "docker.options-drift/restart",
		Title:   "Restart docker to apply the configuration on disk",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(s, "No file changes: dockerd is restarted with the configuration on disk.", nil),
		Plan:    restartPlan(s, nil),
	}
}

// IPTablesFlagProvenance says where iptables management is turned off: the file and line
// of --iptables=false (or "iptables": false in daemon.json).
func IPTablesFlagProvenance(s *diag.Snapshot) (file string, line int, ok bool) {
	if s.DockerConf == nil {
		return "", 0, false
	}
	for _, o := range s.DockerConf.OnDisk {
		if o.Key == "iptables" && o.Value == "false" && o.At.File != "" {
			return o.At.File, o.At.Line, true
		}
	}
	return "", 0, false
}

// IPTablesEnableRemediation builds docker.iptables-disabled/enable from the configuration
// facts: drop --iptables=false where it is set (or set "iptables": true in daemon.json),
// check the result, restart docker.
func IPTablesEnableRemediation(s *diag.Snapshot) (diag.Remediation, bool) {
	f := s.DockerConf
	if f == nil {
		return diag.Remediation{}, false
	}
	if len(f.Unparsed) > 0 {
		return refusedEdit("docker.iptables-disabled/enable", f), true
	}
	edits := newEditSet(f)
	get := edits.get
	var where []string
	for _, o := range f.OnDisk {
		if o.Key != "iptables" || o.Value != "false" || o.At.File == "" {
			continue
		}
		e := get(o.At.File)
		if o.FromFlag() {
			if e.after == "" && !e.exists {
				return diag.Remediation{}, false
			}
			after := e.after
			var err error
			for _, tok := range o.Tokens {
				after, err = dockerconf.RemoveWords(after, o.At.Line, []string{tok})
				if err != nil {
					return diag.Remediation{}, false
				}
			}
			e.after = after
			where = append(where, fmt.Sprintf("drop %s from %s", strings.Join(o.Tokens, " "), o.At))
		} else {
			dj, err := dockerconf.ParseDaemonJSON([]byte(e.after))
			if err != nil {
				return diag.Remediation{}, false
			}
			out, err := dj.Set("iptables", true)
			if err != nil {
				return diag.Remediation{}, false
			}
			e.after = string(out)
			where = append(where, fmt.Sprintf("set \"iptables\": true in %s", o.At))
		}
	}
	if len(edits.order) == 0 {
		return diag.Remediation{}, false
	}
	list, err := finishEdits(s, edits.list())
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:      "docker.iptables-disabled/enable",
		Title:   "Let dockerd manage iptables again (" + strings.Join(where, "; ") + ") and restart docker",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(s, "dockerd will install its NAT (MASQUERADE for docker0) and filter rules at start.", list),
		Plan:    restartPlan(s, list),
	}, true
}

// dedupeRemediation keeps each conflicting directive where the running daemon took it
// from: a flag the running process has stays and the daemon.json copy goes; otherwise the
// flag goes.
func dedupeRemediation(s *diag.Snapshot) (diag.Remediation, bool) {
	f := s.DockerConf
	if len(f.Unparsed) > 0 {
		return refusedEdit("docker.config-conflict/dedupe", f), true
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
	list, err := finishEdits(s, edits.list())
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:      "docker.config-conflict/dedupe",
		Title:   "Keep each directive in one place (" + plural(len(f.Conflicts), "directive", "directives") + ") and restart docker",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(s, strings.Join(lines, "\n"), list),
		Plan:    restartPlan(s, list),
	}, true
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

// dockerdVersion is the dockerd release the configuration facts were judged against.
func dockerdVersion(f *diag.DockerConfFacts) dockerconf.Version {
	v, _ := dockerconf.ParseVersion(f.DockerdVersion)
	return v
}

// logRotationRemediation adds max-size and max-file where the logging configuration
// already lives: the --log-opt flags, daemon.json, or the DOCKER_OPTS line.
func logRotationRemediation(s *diag.Snapshot, cfg *diag.Config) (diag.Remediation, bool) {
	f := s.DockerConf
	if len(f.Unparsed) > 0 {
		return refusedEdit("docker.log-rotation-missing/set", f), true
	}
	size, files := defaultLogMaxSize, defaultLogMaxFile
	if v := cfg.DockerBaseline.LogOpts["max-size"]; v != "" {
		size = v
	}
	if v := cfg.DockerBaseline.LogOpts["max-file"]; v != "" {
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
	list, err := finishEdits(s, []plannedEdit{e})
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:    "docker.log-rotation-missing/set",
		Title: fmt.Sprintf("Rotate container logs at %s, keep %s files (in %s), and restart docker", size, files, path.Base(where)),
		Risk:  diag.RiskHigh,
		Preview: restartPreview(s, fmt.Sprintf("Add log-opts max-size=%s max-file=%s in %s. Existing containers keep their old log settings until recreated.",
			size, files, where), list),
		Plan: restartPlan(s, list),
	}, true
}

func daemonJSONExists(f *diag.DockerConfFacts) bool {
	cf, ok := f.File(f.DaemonJSON)
	return ok && cf.Exists
}

// hasFlagLine reports whether some flag comes from a drop-in or environment file.
func hasFlagLine(f *diag.DockerConfFacts) bool {
	_, ok := lastDropInFlagOK(f)
	return ok
}

func lastDropInFlag(f *diag.DockerConfFacts) diag.DockerOption {
	o, _ := lastDropInFlagOK(f)
	return o
}

func lastDropInFlagOK(f *diag.DockerConfFacts) (diag.DockerOption, bool) {
	var out diag.DockerOption
	ok := false
	for _, o := range f.OnDisk {
		if o.FromFlag() && o.At.Via != "" && o.At.File != "" && len(o.Tokens) > 0 {
			out, ok = o, true
		}
	}
	return out, ok
}

// IPTablesEvidence is the evidence docker.iptables-disabled shows for where iptables
// management is turned off (false when the configuration facts do not say).
func IPTablesEvidence(s *diag.Snapshot) (diag.Evidence, bool) {
	if s.DockerConf == nil {
		return diag.Evidence{}, false
	}
	var rows [][]string
	for _, o := range s.DockerConf.OnDisk {
		if o.Key == "iptables" && o.Value == "false" {
			set := strings.Join(o.Tokens, " ")
			if !o.FromFlag() {
				set = `"iptables": false`
			}
			rows = append(rows, []string{set, o.At.String()})
		}
	}
	if o, ok := diag.Option(s.DockerConf.Running, "iptables"); ok && o.Value == "false" {
		rows = append(rows, []string{strings.Join(o.Tokens, " "), "running process"})
	}
	if len(rows) == 0 {
		return diag.Evidence{}, false
	}
	return diag.Evidence{Label: "iptables=false set at", Table: &diag.Table{Columns: []string{"SETTING", "WHERE"}, Rows: rows}}, true
}

// capRows keeps the first maxRows rows of an evidence table and counts the
// rest in a last row, so a node with 40,000 directives makes a report of
// kilobytes, not megabytes.
func capRows(t *diag.Table) *diag.Table {
	if len(t.Rows) <= maxRows {
		return t
	}
	more := make([]string, len(t.Columns))
	more[0] = "…"
	if len(more) > 1 {
		more[1] = fmt.Sprintf("and %d more", len(t.Rows)-maxRows)
	}
	t.Rows = append(t.Rows[:maxRows:maxRows], more)
	return t
}
