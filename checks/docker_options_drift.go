package checks

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

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
	Needs:    []diag.Source{diag.SourceDockerConf},
	Uses:     []diag.Source{diag.SourceDocker, diag.SourceDockerdProc, diag.SourceSystemd},
	CausedBy: []*diag.Check{&DockerConfigConflict},
	Run:      runOptionsDrift,
}

// runningDefaults are the values dockerd uses for directives nobody set.
var runningDefaults = map[string]string{
	"data-root": "/var/lib/docker", "log-driver": "json-file", "live-restore": "false", "iptables": "true",
}

func runOptionsDrift(pass *diag.Pass) ([]diag.Finding, error) {
	f := pass.DockerConf()
	if f == nil {
		return nil, diag.Skip("no dockerd configuration was gathered")
	}
	if err := unparsedSkip(f); err != nil {
		return nil, err
	}
	apiMode := f.Running == nil
	if apiMode && len(apiRunningOptions(pass.Docker())) == 0 {
		if st := pass.Status(diag.SourceDockerdProc); st != nil && !st.OK && !st.Absent {
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
		for _, o := range apiRunningOptions(pass.Docker()) {
			if o.key != "data-root" && o.key != "log-driver" && o.key != "storage-driver" {
				done[o.key] = true
			}
		}
	}
	rows = append(rows, apiDriftRows(pass, done)...)
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
		ID:       pass.FindingID(""),
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
		fi.CausedBy = []string{pass.CausedBy(&DockerConfigConflict, "")}
	} else {
		fi.Remediations = append(fi.Remediations, restartRemediation(pass))
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
	for _, k := range slices.Sorted(maps.Keys(keys)) {
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

// Sources of a running value, as drift evidence names them.
const (
	fromProcess = "running process"
	fromAPIInfo = "Docker API /info"
	fromAPINet  = "Docker API /networks/bridge"
)

// apiOption is one option of the running daemon as the Docker API reports it.
type apiOption struct {
	key, value, from string
	// def is dockerd's value when nothing sets the option ("" when it depends on the node).
	def string
	// same compares the configured value with the reported one as dockerd normalises them.
	same func(disk, running string) bool
}

// userNSSuffix is what dockerd appends to its data-root with --userns-remap.
var userNSSuffix = regexp.MustCompile(`/\d+\.\d+$`)

// apiRunningOptions lists what the Docker API says of the running daemon's options.
// /info does not report --iptables, --ip-forward or log-opts, so those are absent.
func apiRunningOptions(dk *diag.DockerFacts) []apiOption {
	if dk == nil || !dk.Reachable {
		return nil
	}
	d := dk.Daemon
	userns := d != nil && slices.ContainsFunc(d.SecurityOptions, func(o string) bool { return o == "name=userns" })
	out := []apiOption{
		{key: "data-root", value: dk.DataRoot, from: fromAPIInfo + " DockerRootDir", def: "/var/lib/docker", same: func(a, b string) bool {
			if userns {
				b = userNSSuffix.ReplaceAllString(b, "")
			}
			return path.Clean(a) == path.Clean(b)
		}},
		{key: "log-driver", value: dk.LoggingDriver, from: fromAPIInfo + " LoggingDriver", def: "json-file"},
		{key: "storage-driver", value: dk.StorageDriver, from: fromAPIInfo + " Driver"},
		{key: "live-restore", value: strconv.FormatBool(dk.LiveRestore), from: fromAPIInfo + " LiveRestoreEnabled", def: "false"},
	}
	if d == nil {
		return out
	}
	out = append(out,
		apiOption{key: "registry-mirrors", value: "[" + strings.Join(d.RegistryMirrors, " ") + "]", from: fromAPIInfo + " RegistryConfig.Mirrors",
			def: "[]", same: sameMirrors},
		apiOption{key: "insecure-registries", value: "[" + strings.Join(d.InsecureRegistries, " ") + "]",
			from: fromAPIInfo + " RegistryConfig (insecure CIDRs and registries)", def: "[]", same: sameInsecure},
		apiOption{key: "debug", value: strconv.FormatBool(d.Debug), from: fromAPIInfo + " Debug", def: "false"},
		apiOption{key: "labels", value: "[" + strings.Join(d.Labels, " ") + "]", from: fromAPIInfo + " Labels", def: "[]"},
		apiOption{key: "default-runtime", value: d.DefaultRuntime, from: fromAPIInfo + " DefaultRuntime", def: "runc"},
		apiOption{key: "userns-remap", value: strconv.FormatBool(userns), from: fromAPIInfo + " SecurityOptions", def: "false",
			same: func(a, b string) bool { return (a != "" && a != "false") == (b == "true") }},
	)
	if cg := dk.CgroupDriver; cg != "" {
		out = append(out, apiOption{key: "exec-opts", value: "native.cgroupdriver=" + cg, from: fromAPIInfo + " CgroupDriver", same: sameCgroupDriver})
	}
	if b := d.Bridge; b != nil {
		opt := func(key, name, def string) {
			if v, ok := b.Options[name]; ok {
				out = append(out, apiOption{key: key, value: v, from: fromAPINet + " " + name, def: def})
			}
		}
		opt("bridge", "com.docker.network.bridge.name", "docker0")
		opt("ip-masq", "com.docker.network.bridge.enable_ip_masquerade", "true")
		opt("icc", "com.docker.network.bridge.enable_icc", "true")
		opt("mtu", "com.docker.network.driver.mtu", "1500")
		if b.Gateway != "" && b.Subnet != "" {
			if p, err := netip.ParsePrefix(b.Subnet); err == nil {
				out = append(out, apiOption{key: "bip", value: b.Gateway + "/" + strconv.Itoa(p.Bits()), from: fromAPINet + " IPAM gateway/subnet", same: sameBIP})
			}
		}
	}
	return out
}

// listItems reads a rendered list value ("[a b]").
func listItems(v string) []string { return strings.Fields(strings.Trim(v, "[]")) }

// sameMirrors compares registry mirrors as dockerd stores them: one trailing slash.
func sameMirrors(a, b string) bool {
	norm := func(v string) []string {
		var out []string
		for _, m := range listItems(v) {
			out = append(out, strings.TrimSuffix(m, "/")+"/")
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// sameInsecure compares insecure registries as dockerd loads them: http:// and https://
// removed, CIDRs in canonical form, 127.0.0.0/8 always added.
func sameInsecure(a, b string) bool {
	norm := func(v string) []string {
		out := []string{"127.0.0.0/8"}
		for _, r := range listItems(v) {
			low := strings.ToLower(r)
			switch {
			case strings.HasPrefix(low, "http://"):
				r = r[7:]
			case strings.HasPrefix(low, "https://"):
				r = r[8:]
			}
			if _, n, err := net.ParseCIDR(r); err == nil {
				r = n.String()
			}
			out = append(out, r)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// sameCgroupDriver compares the native.cgroupdriver of exec-opts with the driver in use;
// exec-opts without it leave the default to dockerd, which depends on the node.
func sameCgroupDriver(disk, running string) bool {
	want := ""
	for _, o := range listItems(disk) {
		if v, ok := strings.CutPrefix(o, "native.cgroupdriver="); ok {
			want = v
		}
	}
	return want == "" || "native.cgroupdriver="+want == running
}

// sameBIP compares --bip (the bridge's address with its prefix) with the bridge network's
// gateway and subnet.
func sameBIP(disk, running string) bool {
	a, err1 := netip.ParsePrefix(disk)
	b, err2 := netip.ParsePrefix(running)
	return err1 == nil && err2 == nil && a == b
}

// lastOption returns the last option with key (the one dockerd ends up with).
func lastOption(opts []diag.DockerOption, key string) (diag.DockerOption, bool) {
	for i := len(opts) - 1; i >= 0; i-- {
		if opts[i].Key == key {
			return opts[i], true
		}
	}
	return diag.DockerOption{}, false
}

// apiDriftRows compares the configuration on disk with what the Docker API reports of the
// running daemon, skipping keys in done (already compared with the running process).
// Each row names where the running value was read.
func apiDriftRows(pass *diag.Pass, done map[string]bool) [][]string {
	f := pass.DockerConf()
	var rows [][]string
	for _, o := range apiRunningOptions(pass.Docker()) {
		if done[o.key] || o.value == "" {
			continue
		}
		want, at := o.def, "(default)"
		d, set := diag.Option(f.OnDisk, o.key)
		if !set && o.key == "data-root" {
			d, set = diag.Option(f.OnDisk, "graph") // before 23.0
		}
		if set {
			want, at = d.Value, d.At.String()
		} else if want == "" {
			continue
		}
		if o.key == "data-root" && f.DataRootResolved != "" {
			want = f.DataRootResolved // dockerd resolves symlinks at start
		}
		if o.key == "ip-masq" && want != "false" {
			// dockerd masquerades only when it manages iptables: with --iptables=false
			// the bridge network reports enable_ip_masquerade=false.
			if ipt, ok := lastOption(f.OnDisk, "iptables"); ok && ipt.Value == "false" {
				want, at = "false", "(implied by "+ipt.At.String()+": --iptables=false)"
			}
		}
		same := o.same
		if same == nil {
			same = sameValue
		}
		if same(want, o.value) {
			continue
		}
		rows = append(rows, []string{o.key, want, at, o.value, o.from})
	}
	return rows
}
