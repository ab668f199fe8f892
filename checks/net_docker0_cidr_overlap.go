package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

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

func runCIDROverlap(pass *diag.Pass) ([]diag.Finding, error) {
	link, subnet, err := dockerBridge(pass)
	if err != nil {
		return nil, err
	}
	onBridge := map[string]bool{link.Name: true}
	for _, p := range ports(pass.Network(), link.Name) {
		onBridge[p] = true
	}
	t := &diag.Table{Columns: []string{"KIND", "WHERE", "CIDR"}}
	for _, l := range pass.Network().Links {
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
	for _, r := range pass.Network().Routes {
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
		ID:       pass.FindingID(""),
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
