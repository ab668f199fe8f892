package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

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

func runBackendMismatch(pass *diag.Pass) ([]diag.Finding, error) {
	n := pass.Network()
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
		ID:          pass.FindingID(""),
		Severity:    diag.Warning,
		Title:       "Rules in both iptables-legacy and iptables-nft",
		Summary:     fmt.Sprintf("Both iptables backends hold rules; the iptables command here uses %s and does not show the others, so rules that should work together may not.", orDash(n.Backend)),
		Explanation: "Compare `iptables-legacy-save` with `iptables-nft-save`. Make Docker, kube-proxy and the CNI plugin use the same backend as the host, then flush the unused one.",
		Evidence:    []diag.Evidence{{Label: "Backends", Table: t}, {Label: "Backend in use", Value: n.Backend + ": " + orDash(n.BackendWhy)}},
	}}, nil
}
