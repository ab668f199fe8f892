package checks

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/netpath"
)

// Check IDs of the network area, used for CausedBy links.
const (
	idIPTablesDisabled  = "docker.iptables-disabled"
	idMasqueradeMissing = "net.docker0-masquerade-missing"
)

// IPForwardPersistFile is where the ip_forward remediation persists the
// setting; named to sort after 99-sysctl.conf so systemd-sysctl applies it
// after the distribution's files.
const IPForwardPersistFile = "/etc/sysctl.d/99-zz-ksdoctor-ip-forward.conf"

// DockerIPTablesDisabled reports a dockerd that does not manage iptables.
var DockerIPTablesDisabled = diag.Check{
	ID:    idIPTablesDisabled,
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
func iptablesDisabled(s *diag.Snapshot) (dockerconf.FlagSetting, bool) {
	if s.Dockerd == nil || len(s.Dockerd.Args) == 0 {
		return dockerconf.FlagSetting{}, false
	}
	f, ok := dockerconf.FindFlag(s.Dockerd.Args[1:], "iptables")
	if !ok {
		return f, false
	}
	f.Index++
	v, err := strconv.ParseBool(f.Value)
	return f, err == nil && !v
}

func runIPTablesDisabled(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	if s.Dockerd == nil || len(s.Dockerd.Args) == 0 {
		// No process to read (a pod without hostPID): judge from the files, and say so.
		return iptablesDisabledOnDisk(s)
	}
	f, off := iptablesDisabled(s)
	fromFile := false
	if _, set := dockerconf.FindFlag(s.Dockerd.Args[min(1, len(s.Dockerd.Args)):], "iptables"); !set && s.DockerConf != nil {
		// No flag on the running command line: daemon.json decides.
		for _, o := range s.DockerConf.OnDisk {
			if o.Key == "iptables" && o.Value == "false" && !o.FromFlag() {
				off, fromFile = true, true
				f = dockerconf.FlagSetting{Arg: `"iptables": false`}
			}
		}
	}
	if !off {
		return nil, nil
	}
	pid := s.Dockerd.PID
	where := &diag.Table{Columns: []string{"SOURCE", "SETTING", "WHERE"}}
	if !fromFile {
		where.Rows = append(where.Rows, []string{
			fmt.Sprintf("running dockerd (pid %d, %s)", pid, s.Dockerd.Found),
			f.Arg,
			fmt.Sprintf("/proc/%d/cmdline, argument %d", pid, f.Index),
		})
	}
	if s.DockerConf != nil {
		// Where the next start will take it from: the unit, a drop-in, daemon.json.
		for _, o := range s.DockerConf.OnDisk {
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
		ID:       idIPTablesDisabled,
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
			{Label: "Command line", Value: strings.Join(s.Dockerd.Args, " ")},
		},
	}
	if rem, ok := IPTablesEnableRemediation(s); ok {
		fd.Remediations = []diag.Remediation{rem}
	}
	iptablesDisabledCovered(s, &fd)
	return []diag.Finding{fd}, nil
}

// bridgeName is the bridge dockerd uses: --bridge/-b, else docker0; ""
// when dockerd runs without a bridge (--bridge=none).
func bridgeName(s *diag.Snapshot) string {
	if s.Dockerd != nil && len(s.Dockerd.Args) > 0 {
		if f, ok := dockerconf.FindFlag(s.Dockerd.Args[1:], "bridge"); ok {
			if f.Value == "none" {
				return ""
			}
			return f.Value
		}
	}
	return "docker0"
}

// bridgeSubnet is the IPv4 subnet of Docker's default bridge: what the
// Docker API says, else the bridge's own address.
func bridgeSubnet(s *diag.Snapshot, link *diag.NetLink) (netip.Prefix, bool) {
	if s.Docker != nil {
		for _, sub := range s.Docker.BridgeSubnets {
			if p, ok := diag.ParsePrefix(sub); ok && p.Addr().Is4() {
				return p, true
			}
		}
	}
	if link != nil {
		for _, a := range link.Addrs {
			if p, ok := diag.ParsePrefix(a); ok {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

// dockerBridge returns the bridge link and its subnet, or a skip error.
func dockerBridge(s *diag.Snapshot) (*diag.NetLink, netip.Prefix, error) {
	name := bridgeName(s)
	if name == "" {
		return nil, netip.Prefix{}, diag.Skip("dockerd runs with --bridge=none")
	}
	link := s.Network.Link(name)
	if link == nil {
		return nil, netip.Prefix{}, diag.Skip("no %s bridge on this node", name)
	}
	sub, ok := bridgeSubnet(s, link)
	if !ok {
		return nil, netip.Prefix{}, diag.Skip("%s has no IPv4 subnet", name)
	}
	return link, sub, nil
}

// ports lists the links enslaved to bridge.
func ports(n *diag.NetFacts, bridge string) []string {
	var out []string
	for _, l := range n.Links {
		if l.Master == bridge {
			out = append(out, l.Name)
		}
	}
	return out
}

func chainTable(t *diag.IPTable, chain string, limit int) *diag.Table {
	out := &diag.Table{Columns: []string{"CHAIN", "RULE"}}
	c := t.Chain(chain)
	if c == nil {
		return out
	}
	out.Rows = append(out.Rows, []string{chain, "policy " + orDash(c.Policy)})
	for i, r := range c.Rules {
		if i == limit {
			out.Rows = append(out.Rows, []string{chain, fmt.Sprintf("… %d more", len(c.Rules)-limit)})
			break
		}
		out.Rows = append(out.Rows, []string{chain, "-A " + chain + " " + r.Spec})
	}
	return out
}

// netWantsProbe asks for the active probe when the configuration enables it.
func netWantsProbe(s *diag.Snapshot, cfg *diag.Config) []diag.Source {
	if cfg != nil && cfg.Net.Probe && s.Has(diag.SourceNetwork) {
		return []diag.Source{diag.SourceNetProbe}
	}
	return nil
}

// NetDocker0MasqueradeMissing reports a docker0 subnet nobody masquerades.
var NetDocker0MasqueradeMissing = diag.Check{
	ID:    idMasqueradeMissing,
	Title: "No NAT for docker0's subnet",
	Doc: `No rule in the nat table's POSTROUTING chain (or the chains it jumps
to) masquerades docker0's subnet towards other interfaces. Containers on
docker0 have private addresses (172.17.0.0/16 by default); without
MASQUERADE their packets leave with those addresses and replies never come
back, so containers started outside Kubernetes cannot reach beyond the node
while pods (NATed by the CNI plugin) work. Critical when docker0 is up.
Usually caused by dockerd running with --iptables=false. The remediation
appends "-t nat -A POSTROUTING -s SUBNET ! -o docker0 -j MASQUERADE"; it
does not survive a dockerd restart or reboot while --iptables=false stays.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc},
	Wants: netWantsProbe,
	Run:   runMasqueradeMissing,
}

func runMasqueradeMissing(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	link, subnet, err := dockerBridge(s)
	if err != nil {
		return nil, err
	}
	n := netFacts(s.Network)
	nat := n.Table("nat")
	if nat == nil {
		return nil, fmt.Errorf("the nat table could not be read: %s", strings.Join(n.Errors, "; "))
	}
	eg, err := containerEgress(s, cfg, link, subnet)
	if err != nil {
		return nil, err
	}
	ws := walkAll(netpath.NewNode(n), eg.packets, natHooks, natClass)
	missing := -1
	for i, w := range ws {
		if w.verdict == "no-nat" && missing < 0 {
			missing = i
		}
	}
	if missing < 0 {
		for _, w := range ws {
			if w.verdict == "" {
				f, err := pathUnknownFinding(idMasqueradeMissing, "whether "+link.Name+"'s traffic is masqueraded", ws)
				return []diag.Finding{f}, err
			}
		}
		return nil, nil
	}
	sev := diag.Warning
	state := "down"
	if link.Up {
		sev, state = diag.Critical, "up"
	}
	ps := ports(n, link.Name)
	f := diag.Finding{
		ID:       idMasqueradeMissing,
		Severity: sev,
		Title:    fmt.Sprintf("No MASQUERADE for %s's subnet %s", link.Name, subnet),
		Summary: fmt.Sprintf("Nothing masquerades %s (%s): containers started outside Kubernetes on this node "+
			"(docker run, docker build, CI agents) cannot reach beyond it, while pods can.", subnet, link.Name),
		Explanation: fmt.Sprintf("A container's first packet (%s) was walked through the raw, mangle and nat rules as the kernel does: "+
			"no MASQUERADE or SNAT applies to it, so it leaves with its private source address and the far end's replies have no route back. "+
			"Docker normally installs `-A POSTROUTING -s %s ! -o %s -j MASQUERADE` itself, unless dockerd runs with --iptables=false.",
			ws[missing].res.Packet, subnet, link.Name),
		Evidence: []diag.Evidence{
			{Label: "Bridge", Value: fmt.Sprintf("%s %s (%s), %d attached container interfaces", link.Name, strings.Join(link.Addrs, ","), state, len(ps))},
			{Label: "Walks", Table: pathTable(ws)},
			{Label: "Rules the packet matched", Table: traceTable(ws[missing])},
			{Label: "nat POSTROUTING", Table: chainTable(nat, "POSTROUTING", 20)},
			{Label: "Route out", Value: eg.route},
		},
	}
	if p := n.Probe; p != nil {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Probe", Value: p.Describe()})
	}
	if fl, off := iptablesDisabled(s); off {
		f.CausedBy = []string{idIPTablesDisabled}
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "dockerd", Value: fmt.Sprintf("pid %d runs with %s", s.Dockerd.PID, fl.Arg)})
	}
	f.Remediations = []diag.Remediation{masqueradeRemediation(s, link.Name, subnet)}
	return []diag.Finding{f}, nil
}

// docker0Masqueraded reports whether the nat table masquerades the
// bridge's outbound traffic (whoever wrote the rule): decided for every
// packet walked.
func docker0Masqueraded(s *diag.Snapshot) bool {
	if !s.Has(diag.SourceNetwork) || s.Network == nil {
		return false
	}
	link, subnet, err := dockerBridge(s)
	if err != nil {
		return false
	}
	eg, err := containerEgress(s, nil, link, subnet)
	if err != nil {
		return false
	}
	for _, w := range walkAll(netpath.NewNode(netFacts(s.Network)), eg.packets, natHooks, natClass) {
		if w.verdict != "nat" {
			return false
		}
	}
	return true
}

func masqueradeRemediation(s *diag.Snapshot, bridge string, subnet netip.Prefix) diag.Remediation {
	rule := []string{"-s", subnet.String(), "!", "-o", bridge, "-j", "MASQUERADE"}
	var b strings.Builder
	fmt.Fprintf(&b, "Append to the nat table (through go-iptables, backend %s):\n", orDash(s.Network.Backend))
	fmt.Fprintf(&b, "  iptables -t nat -A POSTROUTING %s\n", strings.Join(rule, " "))
	fmt.Fprintf(&b, "Containers on %s then reach beyond the node right away. Nothing is added when the rule already exists.\n", bridge)
	b.WriteString("This rule lives only in the kernel: it does not survive a dockerd restart or a reboot")
	if _, off := iptablesDisabled(s); off {
		b.WriteString(" while dockerd runs with --iptables=false. The persistent fix is docker.iptables-disabled/enable " +
			"(drop --iptables=false from docker-options.conf and restart dockerd), after which Docker installs this rule itself.")
	} else {
		b.WriteString(". Find out why Docker did not install it (dockerd's --iptables and --ip-masq settings).")
	}
	return diag.Remediation{
		ID:      idMasqueradeMissing + "/add-rule",
		Title:   fmt.Sprintf("Masquerade %s's subnet %s", bridge, subnet),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan: diag.Plan{Transactional: true, Steps: []diag.Step{{
			Kind:         diag.StepIPTablesRule,
			Description:  "iptables -t nat -A POSTROUTING " + strings.Join(rule, " "),
			IPTablesRule: &diag.IPTablesRule{Table: "nat", Chain: "POSTROUTING", Rule: rule},
		}}},
	}
}

func routeString(r diag.NetRoute) string {
	dst := r.Dst
	if r.IsDefault() {
		dst = "default"
	}
	out := dst
	if r.Gateway != "" {
		out += " via " + r.Gateway
	}
	if r.Dev != "" {
		out += " dev " + r.Dev
	}
	return out
}

// NetIPForwardDisabled reports a kernel that does not forward IPv4.
var NetIPForwardDisabled = diag.Check{
	ID:    "net.ip-forward-disabled",
	Title: "IPv4 forwarding is off",
	Doc: `net.ipv4.ip_forward is 0: the kernel does not route packets between
interfaces, so neither containers nor pods reach beyond the node and
traffic for pods from other nodes is dropped. Docker turns it on when it
manages iptables; with --iptables=false or after a sysctl reload that sets
it to 0, it stays off. The remediation sets it to 1 now and persists it in
/etc/sysctl.d/, backing up any file it replaces.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Run:   runIPForward,
}

func runIPForward(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	fw := s.Network.IPForward
	if !fw.Present {
		// Every Linux network namespace has it: not reading it means the
		// check could not judge (a host root without /proc, no permission).
		return nil, fmt.Errorf("could not judge: /proc/sys/net/ipv4/ip_forward was not readable under the host root")
	}
	if fw.Value == "1" {
		return nil, nil
	}
	f := diag.Finding{
		ID:       "net.ip-forward-disabled",
		Severity: diag.Critical,
		Title:    "IPv4 forwarding is off (net.ipv4.ip_forward = " + fw.Value + ")",
		Summary:  "The kernel does not forward IPv4 packets: containers and pods cannot reach beyond this node, and traffic to pods from other nodes is dropped.",
		Explanation: "Kubernetes nodes must route between the pod interfaces and the uplink. Docker enables forwarding only when it manages iptables. " +
			"A line in /etc/sysctl.conf or /etc/sysctl.d/ that sets it to 0 turns it off again at every boot or `sysctl --system`.",
		Evidence: []diag.Evidence{{Label: "net.ipv4.ip_forward", Value: fw.Value}},
	}
	if len(s.Network.IPForwardConf) > 0 {
		t := &diag.Table{Columns: []string{"FILE", "LINE", "VALUE"}}
		for _, c := range s.Network.IPForwardConf {
			t.Rows = append(t.Rows, []string{c.File, strconv.Itoa(c.Line), c.Value})
		}
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Set in sysctl configuration (in the order applied)", Table: t})
	}
	ch := diag.SysctlChange{Key: "net.ipv4.ip_forward", Value: "1", File: IPForwardPersistFile}
	var b strings.Builder
	b.WriteString("1. Write 1 to /proc/sys/net/ipv4/ip_forward (takes effect at once).\n")
	fmt.Fprintf(&b, "2. Write %s containing \"net.ipv4.ip_forward = 1\" so it survives a reboot (an existing file is backed up beside it first).\n", IPForwardPersistFile)
	for _, c := range s.Network.IPForwardConf {
		if c.Value != "1" && (c.File == "/etc/sysctl.conf" || c.File > IPForwardPersistFile) {
			fmt.Fprintf(&b, "Note: %s line %d sets it to %s and is applied after this file; edit that line too.\n", c.File, c.Line, c.Value)
		}
	}
	b.WriteString("If step 2 fails, step 1 is undone.")
	f.Remediations = []diag.Remediation{{
		ID:      "net.ip-forward-disabled/enable",
		Title:   "Turn on IPv4 forwarding now and at boot",
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
			{Kind: diag.StepSysctlSet, Description: "sysctl -w net.ipv4.ip_forward=1", Sysctl: &ch},
			{Kind: diag.StepSysctlPersist, Description: "write " + IPForwardPersistFile, Sysctl: &ch},
		}},
	}}
	return []diag.Finding{f}, nil
}

// NetBridgeNFCallIPTables reports bridged traffic that bypasses iptables.
var NetBridgeNFCallIPTables = diag.Check{
	ID:    "net.bridge-nf-call-iptables",
	Title: "Bridged traffic bypasses iptables",
	Doc: `A Linux bridge (docker0, cni0) has containers attached, but
net.bridge.bridge-nf-call-iptables is 0, or absent because the br_netfilter
module is not loaded. Traffic between two containers on the same bridge then
skips iptables, so kube-proxy's service NAT does not apply to it: a pod
reaching a Service whose endpoint sits on the same bridge times out.
Kubernetes requires the setting. Load br_netfilter (and list it in
/etc/modules-load.d/) and set the sysctl to 1.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Run:   runBridgeNF,
}

func runBridgeNF(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	var used []string
	for _, l := range s.Network.Links {
		if l.Type == "bridge" && len(ports(s.Network, l.Name)) > 0 {
			used = append(used, fmt.Sprintf("%s (%d ports)", l.Name, len(ports(s.Network, l.Name))))
		}
	}
	if len(used) == 0 {
		return nil, diag.Skip("no bridge with attached interfaces")
	}
	v := s.Network.BridgeNFIP
	if v.Present && v.Value == "1" {
		return nil, nil
	}
	f := diag.Finding{
		ID:       "net.bridge-nf-call-iptables",
		Severity: diag.Warning,
		Evidence: []diag.Evidence{{Label: "Bridges in use", Value: strings.Join(used, ", ")}},
	}
	if !v.Present {
		f.Title = "br_netfilter is not loaded"
		f.Summary = "The br_netfilter module is not loaded, so traffic between containers on " + strings.Join(used, ", ") +
			" skips iptables: Service NAT does not apply to it and such connections time out."
		f.Explanation = "Run `modprobe br_netfilter`, add br_netfilter to /etc/modules-load.d/k8s.conf, and set net.bridge.bridge-nf-call-iptables = 1 in /etc/sysctl.d/."
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "net.bridge.bridge-nf-call-iptables", Value: "absent (/proc/sys/net/bridge does not exist)"})
		return []diag.Finding{f}, nil
	}
	f.Title = "net.bridge.bridge-nf-call-iptables = " + v.Value
	f.Summary = "Traffic between containers on " + strings.Join(used, ", ") + " skips iptables: Service NAT does not apply to it and such connections time out."
	f.Explanation = "Kubernetes requires net.bridge.bridge-nf-call-iptables = 1 wherever pods or containers share a bridge."
	f.Evidence = append(f.Evidence, diag.Evidence{Label: "net.bridge.bridge-nf-call-iptables", Value: v.Value})
	ch := diag.SysctlChange{Key: "net.bridge.bridge-nf-call-iptables", Value: "1", File: "/etc/sysctl.d/99-zz-ksdoctor-bridge-nf.conf"}
	f.Remediations = []diag.Remediation{{
		ID:    "net.bridge-nf-call-iptables/enable",
		Title: "Send bridged traffic through iptables now and at boot",
		Risk:  diag.RiskLow,
		Preview: "1. Write 1 to /proc/sys/net/bridge/bridge-nf-call-iptables.\n2. Write " + ch.File +
			" containing \"net.bridge.bridge-nf-call-iptables = 1\" (an existing file is backed up beside it first).\nIf step 2 fails, step 1 is undone.",
		Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
			{Kind: diag.StepSysctlSet, Description: "sysctl -w net.bridge.bridge-nf-call-iptables=1", Sysctl: &ch},
			{Kind: diag.StepSysctlPersist, Description: "write " + ch.File, Sysctl: &ch},
		}},
	}}
	return []diag.Finding{f}, nil
}

// cni describes the pod network plugin seen on the node.
type cni struct {
	Name   string   // "calico", "flannel", … or ""
	Links  []string // its interfaces (summarised)
	PodIfs int      // pod-side interfaces (cali*, veths on cni0)
}

func detectCNI(n *diag.NetFacts) cni {
	var c cni
	cali := 0
	for _, l := range n.Links {
		switch {
		case strings.HasPrefix(l.Name, "cali"):
			cali++
		case l.Name == "tunl0" || l.Name == "vxlan.calico":
			c.Name = "calico"
			c.Links = append(c.Links, l.Name)
		case l.Name == "flannel.1" || l.Name == "cni0":
			if c.Name == "" {
				c.Name = "flannel"
			}
			c.Links = append(c.Links, l.Name)
		}
	}
	if cali > 0 {
		c.Name = "calico"
		c.PodIfs = cali
		c.Links = append([]string{fmt.Sprintf("cali* (%d)", cali)}, c.Links...)
	} else if c.Name == "flannel" {
		c.PodIfs = len(ports(n, "cni0"))
	}
	return c
}

// podCovered reports whether FORWARD reaches the CNI's or kube-proxy's
// ACCEPT rules, and which chain does it.
func podCovered(filter *diag.IPTable) (string, bool) {
	for _, cr := range filter.Reachable("FORWARD") {
		if cr.Rule.Target != "ACCEPT" {
			continue
		}
		for _, p := range []string{"KUBE-FORWARD", "cali-", "FLANNEL-FWD", "WEAVE"} {
			if strings.HasPrefix(cr.Chain, p) {
				return cr.Chain, true
			}
		}
	}
	return "", false
}

// NetForwardPolicyDrop reports a FORWARD DROP policy nothing accepts past.
var NetForwardPolicyDrop = diag.Check{
	ID:    "net.forward-policy-drop",
	Title: "FORWARD policy DROP without ACCEPT rules",
	Doc: `The filter table's FORWARD chain has policy DROP (Docker sets it when it
turns on ip_forward itself) and no ACCEPT rule covers traffic from docker0
or from the pod network (kube-proxy's KUBE-FORWARD with --cluster-cidr,
calico's cali-FORWARD, flannel's FLANNEL-FWD). Forwarded container, pod or
NodePort traffic is then dropped. The remediation inserts ACCEPT rules for
docker0 (outbound, and replies back in); pod rules belong to the CNI plugin
and kube-proxy.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Uses:  []diag.Source{diag.SourceDockerdProc},
	Run:   runForwardDrop,
}

func runForwardDrop(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	n := netFacts(s.Network)
	filter := n.Table("filter")
	if filter == nil {
		return nil, fmt.Errorf("the filter table could not be read: %s", strings.Join(n.Errors, "; "))
	}
	fwd := filter.Chain("FORWARD")
	if fwd == nil {
		return nil, nil
	}
	t := &diag.Table{Columns: []string{"TRAFFIC", "INTERFACES", "ACCEPTED BY"}}
	var dropped []string
	bridge := bridgeName(s)
	var bridgeLink *diag.NetLink
	if bridge != "" {
		bridgeLink = n.Link(bridge)
	}
	var undecided []walked
	if bridgeLink != nil {
		ws, row, err := bridgeForward(s, cfg, n, bridgeLink)
		if err == nil {
			t.Rows = append(t.Rows, row)
			for _, w := range ws {
				if w.verdict == "" {
					undecided = ws
				}
			}
			if strings.HasPrefix(row[2], "nothing") || strings.HasPrefix(row[2], "dropped") {
				dropped = append(dropped, "containers on "+bridge)
			}
		}
	}
	c := detectCNI(n)
	if c.Name != "" && fwd.Policy == "DROP" {
		by := "nothing: dropped"
		if chain, ok := podCovered(filter); ok {
			by = chain
		} else {
			dropped = append(dropped, "pods ("+c.Name+")")
		}
		t.Rows = append(t.Rows, []string{"pods (" + c.Name + ")", strings.Join(c.Links, ", "), by})
	}
	if len(dropped) == 0 && undecided != nil {
		f, err := pathUnknownFinding("net.forward-policy-drop", "whether the FORWARD chain lets "+bridge+"'s traffic through", undecided)
		return []diag.Finding{f}, err
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	f := diag.Finding{
		ID:       "net.forward-policy-drop",
		Severity: diag.Warning,
		Title:    "The FORWARD chain drops " + strings.Join(dropped, " and "),
		Summary: "The filter FORWARD chain drops by default and no ACCEPT rule covers " + strings.Join(dropped, " or ") +
			": their forwarded traffic (outbound connections, NodePort and cross-node traffic) is dropped.",
		Explanation: "Each packet was walked through the filter FORWARD chain rule by rule (a final REJECT counts as a drop). " +
			"Docker sets FORWARD to DROP when it turns on ip_forward itself; kube-proxy adds KUBE-FORWARD ACCEPT rules only with --cluster-cidr, " +
			"and Docker adds its own ACCEPT rules only when it manages iptables.",
		Evidence: []diag.Evidence{
			{Label: "Forwarded traffic", Table: t},
			{Label: "filter FORWARD", Table: chainTable(filter, "FORWARD", 20)},
		},
	}
	if _, off := iptablesDisabled(s); off {
		f.CausedBy = []string{idIPTablesDisabled}
	}
	if bridgeLink != nil && slices.Contains(dropped, "containers on "+bridge) {
		out := []string{"-i", bridge, "!", "-o", bridge, "-j", "ACCEPT"}
		back := []string{"-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}
		f.Remediations = []diag.Remediation{{
			ID:    "net.forward-policy-drop/accept-docker0",
			Title: "Accept forwarded traffic of " + bridge,
			Risk:  diag.RiskLow,
			Preview: "Insert at the top of the filter FORWARD chain (each only if missing):\n" +
				"  iptables -t filter -I FORWARD 1 " + strings.Join(back, " ") + "\n" +
				"  iptables -t filter -I FORWARD 1 " + strings.Join(out, " ") + "\n" +
				"Containers on " + bridge + " may then open connections beyond the node and get the replies; nothing else is opened. " +
				"Like any rule added by hand, they do not survive a reboot or a dockerd restart.",
			Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
				{Kind: diag.StepIPTablesRule, Description: "iptables -t filter -I FORWARD 1 " + strings.Join(back, " "),
					IPTablesRule: &diag.IPTablesRule{Table: "filter", Chain: "FORWARD", Rule: back, Position: 1}},
				{Kind: diag.StepIPTablesRule, Description: "iptables -t filter -I FORWARD 1 " + strings.Join(out, " "),
					IPTablesRule: &diag.IPTablesRule{Table: "filter", Chain: "FORWARD", Rule: out, Position: 1}},
			}},
		}}
	}
	return []diag.Finding{f}, nil
}

// NetDocker0CIDROverlap reports docker0's subnet colliding with the node's
// other networks.
var NetDocker0CIDROverlap = diag.Check{
	ID:    "net.docker0-cidr-overlap",
	Title: "docker0 subnet overlaps another network",
	Doc: `docker0's subnet (172.17.0.0/16 unless --bip) overlaps an address on
another interface, a route through another interface, or a pod or service
range visible on the node (calico /32 routes and tunl0, flannel, the
kube-ipvs0 service addresses). Packets for the overlapping addresses then
go to the wrong place: to docker0 instead of the VPN, office network, pod
or Service. Move docker0 with "bip" in /etc/docker/daemon.json (or --bip)
to a free range and restart dockerd.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc},
	Run:   runCIDROverlap,
}

func runCIDROverlap(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	link, subnet, err := dockerBridge(s)
	if err != nil {
		return nil, err
	}
	onBridge := map[string]bool{link.Name: true}
	for _, p := range ports(s.Network, link.Name) {
		onBridge[p] = true
	}
	t := &diag.Table{Columns: []string{"KIND", "WHERE", "CIDR"}}
	for _, l := range s.Network.Links {
		if onBridge[l.Name] {
			continue
		}
		for _, a := range l.Addrs {
			if p, ok := diag.ParsePrefix(a); ok && p.Overlaps(subnet) {
				kind := "address"
				if l.Name == "kube-ipvs0" {
					kind = "service address"
				}
				t.Rows = append(t.Rows, []string{kind, l.Name, a})
			}
		}
	}
	for _, r := range s.Network.Routes {
		if r.IsDefault() || onBridge[r.Dev] {
			continue
		}
		if p, ok := diag.ParsePrefix(r.Dst); ok && p.Overlaps(subnet) {
			kind := "route"
			if strings.HasPrefix(r.Dev, "cali") || r.Dev == "tunl0" || r.Dev == "vxlan.calico" || r.Dev == "flannel.1" || r.Dev == "cni0" {
				kind = "pod route"
			}
			t.Rows = append(t.Rows, []string{kind, routeString(r), r.Dst})
		}
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	return []diag.Finding{{
		ID:       "net.docker0-cidr-overlap",
		Severity: diag.Warning,
		Title:    fmt.Sprintf("%s's subnet %s overlaps %s", link.Name, subnet, plural(len(t.Rows), "other network", "other networks")),
		Summary: fmt.Sprintf("%s uses %s, which overlaps %s on this node: traffic for those addresses can go to the wrong interface.",
			link.Name, subnet, plural(len(t.Rows), "another address or route", "other addresses or routes")),
		Explanation: "Pick a free range for docker0 with \"bip\" in /etc/docker/daemon.json (e.g. \"bip\": \"192.168.200.1/24\"), " +
			"away from the pod CIDR, the service CIDR and the site's networks, and restart dockerd.",
		Evidence: []diag.Evidence{
			{Label: "Bridge subnet", Value: subnet.String()},
			{Label: "Overlaps", Table: t},
		},
	}}, nil
}

// NetDocker0VsPodRouting explains which path containers and pods take.
var NetDocker0VsPodRouting = diag.Check{
	ID:    "net.docker0-vs-pod-routing",
	Title: "How containers and pods leave the node",
	Doc: `An observation, in the node's own terms: a container started by hand
leaves through docker0 and needs Docker's MASQUERADE rule; a pod leaves
through the CNI plugin's interfaces (calico's cali* veths with /32 routes
and tunl0 or vxlan.calico, flannel's cni0 and flannel.1) and the CNI
plugin's own NAT. It says which of the two paths is broken now, which is
why "pods work but docker run does not" is not a CNI problem.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerdProc},
	Wants: netWantsProbe,
	Run:   runRouting,
}

// podNAT finds the CNI's or kube-proxy's outbound NAT for pods.
func podNAT(nat *diag.IPTable) string {
	if nat == nil {
		return ""
	}
	for _, cr := range nat.Reachable("POSTROUTING") {
		if cr.Rule.Target != "MASQUERADE" && cr.Rule.Target != "SNAT" {
			continue
		}
		if strings.HasPrefix(cr.Chain, "cali-") || strings.HasPrefix(cr.Chain, "FLANNEL") {
			return cr.Chain
		}
	}
	for _, c := range nat.Chains {
		if c.Name == "cali-nat-outgoing" || c.Name == "FLANNEL-POSTRTG" {
			return c.Name
		}
	}
	return ""
}

func runRouting(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	n := netFacts(s.Network)
	c := detectCNI(n)
	bridge := bridgeName(s)
	var link *diag.NetLink
	if bridge != "" {
		link = n.Link(bridge)
	}
	if link == nil && c.Name == "" {
		return nil, diag.Skip("neither a Docker bridge nor a CNI interface on this node")
	}
	nat := n.Table("nat")
	fwdOff := n.IPForward.Present && n.IPForward.Value != "1"
	uplink := "no default route"
	if d := n.DefaultRoute(); d != nil {
		uplink = routeString(*d)
	}
	t := &diag.Table{Columns: []string{"WHO", "PATH", "NAT", "NOW"}}
	var broken, working []string
	if link != nil {
		sub, _ := bridgeSubnet(s, link)
		natDesc, now := "unknown (nat table unreadable)", "unknown"
		if nat != nil {
			natDesc, now = bridgeNAT(s, n, link, sub)
		}
		if fwdOff {
			now = "broken: ip_forward = 0"
		}
		if p := n.Probe; p != nil && p.Skipped == "" && p.Error == "" {
			if p.Reachable {
				now += " (probe reached " + p.Target + ")"
			} else {
				now += " (probe could not reach " + p.Target + ")"
			}
		}
		t.Rows = append(t.Rows, []string{"container started by hand (docker run)",
			fmt.Sprintf("%s %s → %s", link.Name, strings.Join(link.Addrs, ","), uplink), natDesc, now})
		if strings.HasPrefix(now, "broken") {
			broken = append(broken, "hand-started containers")
		} else if strings.HasPrefix(now, "works") {
			working = append(working, "hand-started containers")
		}
	}
	if c.Name != "" {
		pods := 0
		for _, r := range n.Routes {
			if strings.HasSuffix(r.Dst, "/32") && (strings.HasPrefix(r.Dev, "cali") || r.Dev == "cni0") {
				pods++
			}
		}
		path := strings.Join(c.Links, ", ")
		if pods > 0 {
			path += fmt.Sprintf(", %d pod /32 routes", pods)
		}
		path += " → " + uplink
		natDesc, now := "not found (calico natOutgoing off, or done elsewhere)", "unknown"
		if ch := podNAT(nat); ch != "" {
			natDesc, now = ch, "works"
		}
		if fwdOff {
			now = "broken: ip_forward = 0"
		}
		t.Rows = append(t.Rows, []string{"pod (" + c.Name + ")", path, natDesc, now})
		if strings.HasPrefix(now, "broken") {
			broken = append(broken, "pods")
		} else if now == "works" {
			working = append(working, "pods")
		}
	}
	if l := n.Link("kube-ipvs0"); l != nil {
		t.Rows = append(t.Rows, []string{"Service (kube-proxy IPVS)", fmt.Sprintf("kube-ipvs0 (%d service addresses)", len(l.Addrs)), "KUBE-POSTROUTING", "-"})
	}
	summary := "Containers started by hand leave through docker0 and Docker's NAT; pods leave through the CNI interfaces and the CNI's NAT."
	switch {
	case len(broken) > 0 && len(working) > 0:
		summary = fmt.Sprintf("%s work but %s are broken now: the two take different paths out of the node, so changing the CNI plugin does not help %s.",
			capitalize(strings.Join(working, " and ")), strings.Join(broken, " and "), strings.Join(broken, " and "))
	case len(broken) > 0:
		summary = fmt.Sprintf("%s are broken now.", capitalize(strings.Join(broken, " and ")))
	}
	return []diag.Finding{{
		ID:          "net.docker0-vs-pod-routing",
		Severity:    diag.Info,
		Title:       "Paths out of the node: docker0 vs pod network",
		Summary:     summary,
		Explanation: "A docker0 container has an address from docker0's subnet and needs Docker's MASQUERADE rule to leave the node; a pod's address is routed by the CNI plugin (a /32 route per pod for calico) and NATed by the CNI's own rules.",
		Evidence:    []diag.Evidence{{Label: "Paths", Table: t}},
	}}, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// NetIPTablesBackendMismatch reports rules split over legacy and nft.
var NetIPTablesBackendMismatch = diag.Check{
	ID:    "net.iptables-backend-mismatch",
	Title: "Rules in both iptables-legacy and iptables-nft",
	Doc: `Both iptables backends hold rules. The kernel applies both, but each
tool sees only its own: Docker, kube-proxy and the CNI plugin may write to
different ones (an image built with iptables-legacy on an nft host), and
"iptables -L" or "iptables-save" shows half the picture. Rules that should
work together (a MASQUERADE in one, a mark in the other) then fail in ways
nobody can see. Make every component use the host's backend
(update-alternatives --set iptables …) and flush the other one.`,
	Needs: []diag.Source{diag.SourceNetwork},
	Run:   runBackendMismatch,
}

func runBackendMismatch(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	n := s.Network
	if len(n.Tables) == 0 && n.IPTablesSave == "" {
		return nil, fmt.Errorf("could not judge: the iptables tables could not be read: %s", orDash(strings.Join(n.Errors, "; ")))
	}
	if n.Backend == "" {
		why := n.BackendWhy
		if why == "" {
			why = "no facts about the iptables binary were gathered"
		}
		return nil, fmt.Errorf("could not judge: the iptables backend could not be decided: %s", why)
	}
	bs := n.Backends
	if len(bs) == 0 {
		return nil, fmt.Errorf("could not judge: the rules of the iptables backends could not be read: %s", orDash(strings.Join(n.Errors, "; ")))
	}
	t := &diag.Table{Columns: []string{"BACKEND", "RULES", "USED BY iptables"}}
	with := 0
	var unreadable []string
	for _, b := range bs {
		used := "no"
		if b.Name == n.Backend {
			used = "yes"
		}
		rules := strconv.Itoa(b.Rules)
		if b.Error != "" {
			rules = "unreadable: " + b.Error
			unreadable = append(unreadable, b.Name+": "+b.Error)
		}
		if b.Rules > 0 {
			with++
		}
		t.Rows = append(t.Rows, []string{b.Name, rules, used})
	}
	if with < 2 && len(unreadable) > 0 {
		return nil, fmt.Errorf("a backend's rules could not be read (%s)", strings.Join(unreadable, "; "))
	}
	if with < 2 {
		return nil, nil
	}
	return []diag.Finding{{
		ID:          "net.iptables-backend-mismatch",
		Severity:    diag.Warning,
		Title:       "Rules in both iptables-legacy and iptables-nft",
		Summary:     fmt.Sprintf("Both iptables backends hold rules; the iptables command here uses %s and does not show the others, so rules that should work together may not.", orDash(n.Backend)),
		Explanation: "Compare `iptables-legacy-save` with `iptables-nft-save`. Make Docker, kube-proxy and the CNI plugin use the same backend as the host, then flush the unused one.",
		Evidence:    []diag.Evidence{{Label: "Backends", Table: t}, {Label: "Backend in use", Value: n.Backend + ": " + orDash(n.BackendWhy)}},
	}}, nil
}
