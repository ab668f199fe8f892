package checks

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

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
func apiDriftRows(s *diag.Snapshot, done map[string]bool) [][]string {
	f := s.DockerConf
	var rows [][]string
	for _, o := range apiRunningOptions(s.Docker) {
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

// iptablesDisabledOnDisk judges docker.iptables-disabled when the running process cannot
// be read (a pod without hostPID): the Docker API does not report --iptables, so the
// setting comes from the configuration dockerd starts with, and the finding says so.
func iptablesDisabledOnDisk(s *diag.Snapshot) ([]diag.Finding, error) {
	procErr := s.SourceError(diag.SourceDockerdProc)
	undecided := func(why string) ([]diag.Finding, error) {
		if st := s.Sources[diag.SourceDockerdProc]; st != nil && !st.OK && !st.Absent {
			return nil, fmt.Errorf("could not judge: %v; %s", procErr, why)
		}
		return nil, diag.Skip("no running dockerd could be read; %s", why)
	}
	f := s.DockerConf
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
	if s.Docker != nil && s.Docker.Reachable {
		api = fmt.Sprintf("dockerd %s answers, but /info does not report --iptables", s.Docker.Version)
	}
	where.Rows = append(where.Rows, []string{"Docker API", "not reported", api})
	last := off[len(off)-1]
	setting := strings.Join(last.Tokens, " ")
	if !last.FromFlag() {
		setting = `"iptables": false`
	}
	fd := diag.Finding{
		ID:       idIPTablesDisabled,
		Severity: diag.Warning,
		Title:    "dockerd is configured with --iptables=false",
		Summary: fmt.Sprintf("dockerd starts with %s (%s): Docker adds no NAT or FORWARD rules for docker0, so containers started "+
			"outside Kubernetes on this node cannot reach beyond it. Judged from the configuration on disk: the running process "+
			"cannot be read here and the Docker API does not report this setting.", setting, last.At),
		Explanation: "kubespray-era installers write --iptables=false into /etc/systemd/system/docker.service.d/docker-options.conf. " +
			"Run ksdoctor with hostPID (or on the node) to read the running dockerd's command line and confirm.",
		Evidence: []diag.Evidence{{Label: "Where set", Table: where}},
	}
	if rem, ok := IPTablesEnableRemediation(s); ok {
		fd.Remediations = []diag.Remediation{rem}
	}
	iptablesDisabledCovered(s, &fd)
	return []diag.Finding{fd}, nil
}
