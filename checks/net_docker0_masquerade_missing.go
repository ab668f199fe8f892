package checks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/netpath"
)

// NetDocker0MasqueradeMissing reports a docker0 subnet nobody masquerades.
var NetDocker0MasqueradeMissing = diag.Check{
	ID:    "net.docker0-masquerade-missing",
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
	Needs:     []diag.Source{diag.SourceNetwork},
	Uses:      []diag.Source{diag.SourceDocker, diag.SourceDockerdProc},
	Wants:     netWantsProbe,
	Expensive: []diag.Source{diag.SourceNetProbe},
	CausedBy:  []*diag.Check{&DockerIPTablesDisabled},
	Run:       runMasqueradeMissing,
}

func runMasqueradeMissing(pass *diag.Pass) ([]diag.Finding, error) {
	link, subnet, err := dockerBridge(pass)
	if err != nil {
		return nil, err
	}
	n := netFacts(pass.Network())
	nat := n.Table("nat")
	if nat == nil {
		return nil, fmt.Errorf("the nat table could not be read: %s", strings.Join(n.Errors, "; "))
	}
	eg, err := containerEgress(pass, pass.Config, link, subnet)
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
				f, err := pathUnknownFinding(pass, "whether "+link.Name+"'s traffic is masqueraded", ws)
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
		ID:       pass.FindingID(""),
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
	if fl, off := iptablesDisabled(pass); off {
		f.CausedBy = []string{pass.CausedBy(&DockerIPTablesDisabled, "")}
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "dockerd", Value: fmt.Sprintf("pid %d runs with %s", pass.Dockerd().PID, fl.Arg)})
	}
	f.Remediations = []diag.Remediation{masqueradeRemediation(pass, link.Name, subnet)}
	return []diag.Finding{f}, nil
}

func masqueradeRemediation(pass *diag.Pass, bridge string, subnet netip.Prefix) diag.Remediation {
	rule := []string{"-s", subnet.String(), "!", "-o", bridge, "-j", "MASQUERADE"}
	var b strings.Builder
	fmt.Fprintf(&b, "Append to the nat table (through go-iptables, backend %s):\n", orDash(pass.Network().Backend))
	fmt.Fprintf(&b, "  iptables -t nat -A POSTROUTING %s\n", strings.Join(rule, " "))
	fmt.Fprintf(&b, "Containers on %s then reach beyond the node right away. Nothing is added when the rule already exists.\n", bridge)
	b.WriteString("This rule lives only in the kernel: it does not survive a dockerd restart or a reboot")
	if _, off := iptablesDisabled(pass); off {
		b.WriteString(" while dockerd runs with --iptables=false. The persistent fix is docker.iptables-disabled/enable " +
			"(drop --iptables=false from docker-options.conf and restart dockerd), after which Docker installs this rule itself.")
	} else {
		b.WriteString(". Find out why Docker did not install it (dockerd's --iptables and --ip-masq settings).")
	}
	return diag.Remediation{
		ID:      pass.RemediationID("add-rule"),
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
