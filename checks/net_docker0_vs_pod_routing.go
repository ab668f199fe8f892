package checks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/netpath"
)

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
	Needs:     []diag.Source{diag.SourceNetwork},
	Uses:      []diag.Source{diag.SourceDocker, diag.SourceDockerdProc},
	Wants:     netWantsProbe,
	Expensive: []diag.Source{diag.SourceNetProbe},
	Run:       runRouting,
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

func runRouting(pass *diag.Pass) ([]diag.Finding, error) {
	n := netFacts(pass.Network())
	c := detectCNI(n)
	bridge := bridgeName(pass)
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
		sub, _ := bridgeSubnet(pass, link)
		natDesc, now := "unknown (nat table unreadable)", "unknown"
		if nat != nil {
			natDesc, now = bridgeNAT(pass, n, link, sub)
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
		ID:          pass.FindingID(""),
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

// bridgeNAT describes the NAT of the bridge's outbound traffic for the
// paths observation: the deciding rule, and whether it works now.
func bridgeNAT(pass *diag.Pass, n *diag.NetFacts, link *diag.NetLink, sub netip.Prefix) (desc, now string) {
	eg, err := containerEgress(pass, nil, link, sub)
	if err != nil {
		return "unknown: " + err.Error(), "unknown"
	}
	w := walkAll(netpath.NewNode(n), eg.packets[:1], natHooks, natClass)[0]
	switch w.verdict {
	case "nat":
		return w.res.Branches[0].By.Rule, "works"
	case "no-nat":
		return "MASQUERADE for " + sub.String() + ": missing", "broken: no NAT"
	case "":
		return "unknown: depends on rules that cannot be evaluated", "unknown"
	}
	return w.verdict + " by " + w.res.Branches[0].By.Rule, "unknown"
}
