package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/netpath"
)

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
	Needs:    []diag.Source{diag.SourceNetwork},
	Uses:     []diag.Source{diag.SourceDockerdProc, diag.SourceDocker},
	CausedBy: []*diag.Check{&DockerIPTablesDisabled},
	Run:      runForwardDrop,
}

func runForwardDrop(pass *diag.Pass) ([]diag.Finding, error) {
	n := netFacts(pass.Network())
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
	bridge := bridgeName(pass)
	var bridgeLink *diag.NetLink
	if bridge != "" {
		bridgeLink = n.Link(bridge)
	}
	var undecided []walked
	if bridgeLink != nil {
		ws, row, err := bridgeForward(pass, n, bridgeLink)
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
		f, err := pathUnknownFinding(pass, "whether the FORWARD chain lets "+bridge+"'s traffic through", undecided)
		return []diag.Finding{f}, err
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	f := diag.Finding{
		ID:       pass.FindingID(""),
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
	if _, off := iptablesDisabled(pass); off {
		f.CausedBy = []string{pass.CausedBy(&DockerIPTablesDisabled, "")}
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

// fwdHooks are the hooks a forwarded packet takes up to the filter table.
var fwdHooks = []netpath.Hook{
	{Table: "raw", Chain: "PREROUTING"}, {Table: "mangle", Chain: "PREROUTING"}, {Table: "nat", Chain: "PREROUTING"},
	{Table: "mangle", Chain: "FORWARD"}, {Table: "filter", Chain: "FORWARD"},
}

// fwdClass sorts a branch for the forwarding question.
func fwdClass(b netpath.Branch) string {
	switch b.Outcome {
	case netpath.Passed, netpath.NAT:
		return "passed"
	case netpath.Dropped, netpath.Reject:
		return "dropped"
	case netpath.Unknown:
		return "unknown: " + b.Detail + " " + b.By.Rule
	}
	return string(b.Outcome)
}

// bridgeForward walks a container's outbound packets and the reply through
// the filter FORWARD chain; the row says what accepts (or drops) them.
func bridgeForward(pass *diag.Pass, n *diag.NetFacts, link *diag.NetLink) ([]walked, []string, error) {
	sub, ok := bridgeSubnet(pass, link)
	if !ok {
		return nil, nil, fmt.Errorf("%s has no IPv4 subnet", link.Name)
	}
	eg, err := containerEgress(pass, pass.Config, link, sub)
	if err != nil {
		return nil, nil, err
	}
	out := eg.packets[0]
	reply := netpath.Packet{Src: out.Dst, Dst: out.Src, Proto: out.Proto, SPort: out.DPort, DPort: out.SPort, In: out.Out, Out: out.In, Reply: true}
	ws := walkAll(netpath.NewNode(n), append(eg.packets, reply), fwdHooks, fwdClass)
	var accepted, dropped, unknown []string
	for _, w := range ws {
		by := "policy ACCEPT"
		if len(w.res.Branches) > 0 && w.res.Branches[0].By.Rule != "" {
			by = w.res.Branches[0].By.String()
		}
		dir := "outbound " + w.res.Packet.Proto
		if w.res.Packet.Reply {
			dir = "replies"
		}
		switch w.verdict {
		case "passed":
			accepted = append(accepted, dir+": "+by)
		case "":
			unknown = append(unknown, dir)
		default:
			dropped = append(dropped, dir+" "+w.verdict+" by "+by)
		}
	}
	by := strings.Join(accepted, "; ")
	switch {
	case len(dropped) > 0:
		by = "dropped: " + strings.Join(dropped, "; ")
	case len(unknown) > 0:
		by = "unknown for " + strings.Join(unknown, ", ")
	}
	return ws, []string{"containers (docker run)", link.Name + " → " + eg.out, by}, nil
}
