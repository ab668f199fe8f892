package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// IPForwardPersistFile is where the ip_forward remediation persists the
// setting; named to sort after 99-sysctl.conf so systemd-sysctl applies it
// after the distribution's files.
const IPForwardPersistFile = "/etc/sysctl.d/99-zz-ksdoctor-ip-forward.conf"

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

func runIPForward(pass *diag.Pass) ([]diag.Finding, error) {
	fw := pass.Network().IPForward
	if !fw.Present {
		// Every Linux network namespace has it: not reading it means the
		// check could not judge (a host root without /proc, no permission).
		return nil, fmt.Errorf("could not judge: /proc/sys/net/ipv4/ip_forward was not readable under the host root")
	}
	if fw.Value == "1" {
		return nil, nil
	}
	f := diag.Finding{
		ID:       pass.FindingID(""),
		Severity: diag.Critical,
		Title:    "IPv4 forwarding is off (net.ipv4.ip_forward = " + fw.Value + ")",
		Summary:  "The kernel does not forward IPv4 packets: containers and pods cannot reach beyond this node, and traffic to pods from other nodes is dropped.",
		Explanation: "Kubernetes nodes must route between the pod interfaces and the uplink. Docker enables forwarding only when it manages iptables. " +
			"A line in /etc/sysctl.conf or /etc/sysctl.d/ that sets it to 0 turns it off again at every boot or `sysctl --system`.",
		Evidence: []diag.Evidence{{Label: "net.ipv4.ip_forward", Value: fw.Value}},
	}
	if len(pass.Network().IPForwardConf) > 0 {
		t := &diag.Table{Columns: []string{"FILE", "LINE", "VALUE"}}
		for _, c := range pass.Network().IPForwardConf {
			t.Rows = append(t.Rows, []string{c.File, strconv.Itoa(c.Line), c.Value})
		}
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Set in sysctl configuration (in the order applied)", Table: t})
	}
	ch := diag.SysctlChange{Key: "net.ipv4.ip_forward", Value: "1", File: IPForwardPersistFile}
	var b strings.Builder
	b.WriteString("1. Write 1 to /proc/sys/net/ipv4/ip_forward (takes effect at once).\n")
	fmt.Fprintf(&b, "2. Write %s containing \"net.ipv4.ip_forward = 1\" so it survives a reboot (an existing file is backed up beside it first).\n", IPForwardPersistFile)
	for _, c := range pass.Network().IPForwardConf {
		if c.Value != "1" && (c.File == "/etc/sysctl.conf" || c.File > IPForwardPersistFile) {
			fmt.Fprintf(&b, "Note: %s line %d sets it to %s and is applied after this file; edit that line too.\n", c.File, c.Line, c.Value)
		}
	}
	b.WriteString("If step 2 fails, step 1 is undone.")
	f.Remediations = []diag.Remediation{{
		ID:      pass.RemediationID("enable"),
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
