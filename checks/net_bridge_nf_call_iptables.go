package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

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

func runBridgeNF(pass *diag.Pass) ([]diag.Finding, error) {
	var used []string
	for _, l := range pass.Network().Links {
		if l.Type == "bridge" && len(ports(pass.Network(), l.Name)) > 0 {
			used = append(used, fmt.Sprintf("%s (%d ports)", l.Name, len(ports(pass.Network(), l.Name))))
		}
	}
	if len(used) == 0 {
		return nil, diag.Skip("no bridge with attached interfaces")
	}
	v := pass.Network().BridgeNFIP
	if v.Present && v.Value == "1" {
		return nil, nil
	}
	f := diag.Finding{
		ID:       pass.FindingID(""),
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
