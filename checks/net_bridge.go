package checks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// bridgeName is the bridge dockerd uses: --bridge/-b, else docker0; ""
// when dockerd runs without a bridge (--bridge=none).
func bridgeName(pass *diag.Pass) string {
	if d := pass.Dockerd(); d != nil && len(d.Args) > 0 {
		if f, ok := dockerconf.FindFlag(d.Args[1:], "bridge"); ok {
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
func bridgeSubnet(pass *diag.Pass, link *diag.NetLink) (netip.Prefix, bool) {
	if d := pass.Docker(); d != nil {
		for _, sub := range d.BridgeSubnets {
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
func dockerBridge(pass *diag.Pass) (*diag.NetLink, netip.Prefix, error) {
	name := bridgeName(pass)
	if name == "" {
		return nil, netip.Prefix{}, diag.Skip("dockerd runs with --bridge=none")
	}
	link := pass.Network().Link(name)
	if link == nil {
		return nil, netip.Prefix{}, diag.Skip("no %s bridge on this node", name)
	}
	sub, ok := bridgeSubnet(pass, link)
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
