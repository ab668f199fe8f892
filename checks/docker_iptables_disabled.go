package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/netpath"
)

// iptablesEnableRemediation builds docker.iptables-disabled/enable from the configuration
// facts: drop --iptables=false where it is set (or set "iptables": true in daemon.json),
// check the result, restart docker.
func iptablesEnableRemediation(pass *diag.Pass) (diag.Remediation, bool) {
	f := pass.DockerConf()
	if f == nil {
		return diag.Remediation{}, false
	}
	if len(f.Unparsed) > 0 {
		return refusedEdit(pass.RemediationID("enable"), f), true
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
	list, err := finishEdits(pass, edits.list())
	if err != nil || len(list) == 0 {
		return diag.Remediation{}, false
	}
	return diag.Remediation{
		ID:      pass.RemediationID("enable"),
		Title:   "Let dockerd manage iptables again (" + strings.Join(where, "; ") + ") and restart docker",
		Risk:    diag.RiskHigh,
		Preview: restartPreview(pass, "dockerd will install its NAT (MASQUERADE for docker0) and filter rules at start.", list),
		Plan:    restartPlan(pass, list),
	}, true
}

// iptablesDisabledOnDisk judges docker.iptables-disabled when the running process cannot
// be read (a pod without hostPID): the Docker API does not report --iptables, so the
// setting comes from the configuration dockerd starts with, and the finding says so.
func iptablesDisabledOnDisk(pass *diag.Pass) ([]diag.Finding, error) {
	procErr := pass.SourceError(diag.SourceDockerdProc)
	undecided := func(why string) ([]diag.Finding, error) {
		if st := pass.Status(diag.SourceDockerdProc); st != nil && !st.OK && !st.Absent {
			return nil, fmt.Errorf("could not judge: %v; %s", procErr, why)
		}
		return nil, diag.Skip("no running dockerd could be read; %s", why)
	}
	f := pass.DockerConf()
	if f == nil {
		return undecided("the configuration on disk was not read either")
	}
	var off []diag.DockerOption
	for _, o := range f.OnDisk {
		if o.Key == "iptables" {
			off = append(off, o)
		}
	}
	if len(off) == 0 || off[len(off)-1].Value != "false" {
		return undecided("the configuration on disk leaves iptables on (the Docker API does not report it)")
	}
	where := &diag.Table{Columns: []string{"SOURCE", "SETTING", "WHERE"}}
	for _, o := range off {
		setting := strings.Join(o.Tokens, " ")
		if !o.FromFlag() {
			setting = `"iptables": false`
		}
		where.Rows = append(where.Rows, []string{"configuration on disk (" + o.At.Origin + ")", setting, o.At.String()})
	}
	why := "not read"
	if procErr != nil {
		why = procErr.Error()
	}
	where.Rows = append(where.Rows, []string{fromProcess, "unknown", "/proc shows no dockerd (" + why + ")"})
	api := "the Docker API did not answer"
	if dk := pass.Docker(); dk != nil && dk.Reachable {
		api = fmt.Sprintf("dockerd %s answers, but /info does not report --iptables", dk.Version)
	}
	where.Rows = append(where.Rows, []string{"Docker API", "not reported", api})
	last := off[len(off)-1]
	setting := strings.Join(last.Tokens, " ")
	if !last.FromFlag() {
		setting = `"iptables": false`
	}
	fd := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Warning,
		Title:    "dockerd is configured with --iptables=false",
		Summary: fmt.Sprintf("dockerd starts with %s (%s): Docker adds no NAT or FORWARD rules for docker0, so containers started "+
			"outside Kubernetes on this node cannot reach beyond it. Judged from the configuration on disk: the running process "+
			"cannot be read here and the Docker API does not report this setting.", setting, last.At),
		Explanation: "kubespray-era installers write --iptables=false into /etc/systemd/system/docker.service.d/docker-options.conf. " +
			"Run ksdoctor with hostPID (or on the node) to read the running dockerd's command line and confirm.",
		Evidence: []diag.Evidence{{Label: "Where set", Table: where}},
	}
	if rem, ok := iptablesEnableRemediation(pass); ok {
		fd.Remediations = []diag.Remediation{rem}
	}
	iptablesDisabledCovered(pass, &fd)
	return []diag.Finding{fd}, nil
}

// DockerIPTablesDisabled reports a dockerd that does not manage iptables.
var DockerIPTablesDisabled = diag.Check{
	ID:    "docker.iptables-disabled",
	Title: "dockerd runs with --iptables=false",
	Doc: `dockerd was started with --iptables=false, so Docker installs no NAT
(MASQUERADE) and no FORWARD rules for its bridge. kubespray set this by
default from 2017 (docker_iptables_enabled: false, rendered into
/etc/systemd/system/docker.service.d/docker-options.conf) because Docker
1.13 switched the FORWARD policy to DROP. Pods are unaffected (the CNI
plugin does their NAT), but containers started with "docker run", docker
build and CI agents using the Docker socket cannot reach beyond the node.
The evidence names where the setting comes from: the running command line
and the file and line on disk (unit, drop-in or daemon.json). The
persistent fix, docker.iptables-disabled/enable, removes the flag (or sets
"iptables": true) and restarts dockerd; net.docker0-masquerade-missing/add-rule
is the immediate, non-persistent workaround. When /proc shows no dockerd
(a pod without hostPID) the setting is judged from the configuration on
disk, and the finding says so: the Docker API does not report --iptables.`,
	// Docker and systemd: the restart's blast radius and service state.
	Uses: []diag.Source{diag.SourceDockerdProc, diag.SourceDockerConf, diag.SourceNetwork, diag.SourceDocker, diag.SourceSystemd},
	Run:  runIPTablesDisabled,
}

// iptablesDisabled reports whether the running dockerd manages no iptables
// rules, with the setting found (Index counts argv[0]).
func iptablesDisabled(pass *diag.Pass) (dockerconf.FlagSetting, bool) {
	d := pass.Dockerd()
	if d == nil || len(d.Args) == 0 {
		return dockerconf.FlagSetting{}, false
	}
	f, ok := dockerconf.FindFlag(d.Args[1:], "iptables")
	if !ok {
		return f, false
	}
	f.Index++
	v, err := strconv.ParseBool(f.Value)
	return f, err == nil && !v
}

func runIPTablesDisabled(pass *diag.Pass) ([]diag.Finding, error) {
	d, conf := pass.Dockerd(), pass.DockerConf()
	if d == nil || len(d.Args) == 0 {
		// No process to read (a pod without hostPID): judge from the files, and say so.
		return iptablesDisabledOnDisk(pass)
	}
	f, off := iptablesDisabled(pass)
	fromFile := false
	if _, set := dockerconf.FindFlag(d.Args[1:], "iptables"); !set && conf != nil {
		// No flag on the running command line: daemon.json decides.
		for _, o := range conf.OnDisk {
			if o.Key == "iptables" && o.Value == "false" && !o.FromFlag() {
				off, fromFile = true, true
				f = dockerconf.FlagSetting{Arg: `"iptables": false`}
			}
		}
	}
	if !off {
		return nil, nil
	}
	pid := d.PID
	where := &diag.Table{Columns: []string{"SOURCE", "SETTING", "WHERE"}}
	if !fromFile {
		where.Rows = append(where.Rows, []string{
			fmt.Sprintf("running dockerd (pid %d, %s)", pid, d.Found),
			f.Arg,
			fmt.Sprintf("/proc/%d/cmdline, argument %d", pid, f.Index),
		})
	}
	if conf != nil {
		// Where the next start will take it from: the unit, a drop-in, daemon.json.
		for _, o := range conf.OnDisk {
			if o.Key != "iptables" || o.Value != "false" {
				continue
			}
			setting := strings.Join(o.Tokens, " ")
			if setting == "" {
				setting = `"iptables": false`
			}
			where.Rows = append(where.Rows, []string{"configuration on disk (" + o.At.Origin + ")", setting, o.At.String()})
		}
	}
	fd := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Warning,
		Title:    "dockerd runs with --iptables=false",
		Summary: fmt.Sprintf("dockerd (pid %d) runs with %s: Docker adds no NAT or FORWARD rules for docker0, "+
			"so containers started outside Kubernetes on this node cannot reach beyond it.", pid, f.Arg),
		Explanation: "kubespray-era installers write --iptables=false into " +
			"/etc/systemd/system/docker.service.d/docker-options.conf (docker_iptables_enabled: false). " +
			"Pods keep working because the CNI plugin does their NAT, which is why the failure shows only for `docker run`, " +
			"docker build and CI agents using the Docker socket. Switching the CNI plugin changes nothing. " +
			"Remove the flag (or set \"iptables\": true in /etc/docker/daemon.json) and restart dockerd for a lasting fix; " +
			"net.docker0-masquerade-missing/add-rule restores outbound traffic right away until then.",
		Evidence: []diag.Evidence{
			{Label: "Where set", Table: where},
			{Label: "Command line", Value: strings.Join(d.Args, " ")},
		},
	}
	if rem, ok := iptablesEnableRemediation(pass); ok {
		fd.Remediations = []diag.Remediation{rem}
	}
	iptablesDisabledCovered(pass, &fd)
	return []diag.Finding{fd}, nil
}

// docker0Masqueraded reports whether the nat table masquerades the
// bridge's outbound traffic (whoever wrote the rule): decided for every
// packet walked.
func docker0Masqueraded(pass *diag.Pass) bool {
	if !pass.Has(diag.SourceNetwork) || pass.Network() == nil {
		return false
	}
	link, subnet, err := dockerBridge(pass)
	if err != nil {
		return false
	}
	eg, err := containerEgress(pass, nil, link, subnet)
	if err != nil {
		return false
	}
	for _, w := range walkAll(netpath.NewNode(netFacts(pass.Network())), eg.packets, natHooks, natClass) {
		if w.verdict != "nat" {
			return false
		}
	}
	return true
}

// iptablesDisabledCovered lowers docker.iptables-disabled to info when the
// nat table masquerades the bridge's traffic anyway (kubespray#2002's
// workaround: a hand-written MASQUERADE rule): nothing is broken now.
func iptablesDisabledCovered(pass *diag.Pass, f *diag.Finding) {
	if !docker0Masqueraded(pass) {
		return
	}
	f.Severity = diag.Info
	f.Summary += " The nat table masquerades the bridge's outbound traffic anyway (a rule written by hand or by the installer), so containers reach beyond the node now; " +
		"Docker still adds no FORWARD rules and will not restore that rule."
}
