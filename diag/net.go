package diag

import (
	"fmt"
	"net/netip"
	"strings"
)

// SourceNetProbe is the opt-in active probe: a throwaway container on
// docker0 tries to reach a target outside the node.
const SourceNetProbe Source = "net.probe"

// NetFacts holds the node's network as this process's network namespace
// sees it: links, IPv4 routes, the nat and filter tables, the forwarding
// sysctls and which iptables backends hold rules.
type NetFacts struct {
	Links  []NetLink  `json:"links"`
	Routes []NetRoute `json:"routes"`
	// Tables are the nat and filter tables of the backend the iptables
	// command uses (Backend), parsed from iptables-save.
	Tables  []IPTable `json:"tables,omitempty"`
	Backend string    `json:"backend,omitempty"` // "nft" or "legacy"
	// Backends lists what each iptables backend holds.
	Backends   []IPTablesBackend `json:"backends,omitempty"`
	IPForward  Sysctl            `json:"ipForward"`
	BridgeNFIP Sysctl            `json:"bridgeNfCallIptables"`
	// IPForwardConf lists the sysctl configuration lines that set
	// net.ipv4.ip_forward (file, line, value), in the order they apply.
	IPForwardConf []SysctlSetting `json:"ipForwardConf,omitempty"`
	// Errors are parts that could not be read; the rest is still valid.
	Errors []string `json:"errors,omitempty"`
	// Probe is the active probe's result (source net.probe), when run.
	Probe *NetProbe `json:"probe,omitempty"`
}

// NetLink is one network interface.
type NetLink struct {
	Name   string `json:"name"`
	Index  int    `json:"index"`
	Type   string `json:"type"`  // bridge, veth, ipip, vxlan, dummy, device, …
	State  string `json:"state"` // operational state: up, down, unknown, …
	Up     bool   `json:"up"`    // administratively up (IFF_UP)
	Master string `json:"master,omitempty"`
	MTU    int    `json:"mtu,omitempty"`
	// Addrs are the IPv4 addresses with their prefix, e.g. "172.17.0.1/16".
	Addrs []string `json:"addrs,omitempty"`
}

// NetRoute is one IPv4 route of the main table.
type NetRoute struct {
	Dst      string `json:"dst"` // CIDR, "0.0.0.0/0" for the default route
	Gateway  string `json:"gateway,omitempty"`
	Dev      string `json:"dev,omitempty"`
	Src      string `json:"src,omitempty"`
	Protocol string `json:"protocol,omitempty"` // kernel, boot, static, bird, …
	Scope    string `json:"scope,omitempty"`
}

// IsDefault reports whether r is the default route.
func (r NetRoute) IsDefault() bool { return r.Dst == "0.0.0.0/0" }

// Sysctl is one kernel parameter; Present is false when the file does not
// exist (e.g. bridge-nf-call-iptables without the br_netfilter module).
type Sysctl struct {
	Present bool   `json:"present"`
	Value   string `json:"value,omitempty"`
}

// SysctlSetting is one line of a sysctl configuration file.
type SysctlSetting struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Value string `json:"value"`
}

// IPTablesBackend is what one iptables backend holds.
type IPTablesBackend struct {
	Name string `json:"name"` // "legacy" or "nft"
	// Rules counts rules over every table the backend holds.
	Rules int    `json:"rules"`
	Error string `json:"error,omitempty"`
}

// IPTable is one parsed iptables table.
type IPTable struct {
	Name   string    `json:"name"`
	Chains []IPChain `json:"chains"`
}

// IPChain is one chain; Policy is empty for user-defined chains.
type IPChain struct {
	Name   string   `json:"name"`
	Policy string   `json:"policy,omitempty"`
	Rules  []IPRule `json:"rules,omitempty"`
}

// IPRule is one rule with the matches the checks look at. Spec is the rule
// as iptables-save printed it, after "-A CHAIN".
type IPRule struct {
	Spec string `json:"spec"`
	// Match fields; a "!" prefix means negated, "" means not matched on.
	Source   string `json:"source,omitempty"`
	Dest     string `json:"dest,omitempty"`
	InIface  string `json:"inIface,omitempty"`
	OutIface string `json:"outIface,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Target is the -j target (or -g goto target).
	Target string `json:"target,omitempty"`
	Goto   bool   `json:"goto,omitempty"`
}

// NetProbe is the result of the active probe.
type NetProbe struct {
	Image     string `json:"image,omitempty"`
	Target    string `json:"target,omitempty"`
	Reachable bool   `json:"reachable"`
	// Skipped says why the probe did not run (no local image, no target).
	Skipped string `json:"skipped,omitempty"`
	Output  string `json:"output,omitempty"`
	Error   string `json:"error,omitempty"`
	// DurationMs is how long the probe container ran.
	DurationMs int64 `json:"durationMs,omitempty"`
}

// Table returns the table called name, or nil.
func (n *NetFacts) Table(name string) *IPTable {
	if n == nil {
		return nil
	}
	for i := range n.Tables {
		if n.Tables[i].Name == name {
			return &n.Tables[i]
		}
	}
	return nil
}

// Chain returns the chain called name, or nil.
func (t *IPTable) Chain(name string) *IPChain {
	if t == nil {
		return nil
	}
	for i := range t.Chains {
		if t.Chains[i].Name == name {
			return &t.Chains[i]
		}
	}
	return nil
}

// Reachable returns the rules of chain and of every user chain it jumps or
// goes to, depth first, each chain once, with the chain each rule is in.
func (t *IPTable) Reachable(chain string) []ChainRule {
	var out []ChainRule
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		c := t.Chain(name)
		if c == nil {
			return
		}
		for _, r := range c.Rules {
			out = append(out, ChainRule{Chain: name, Rule: r})
			if r.Target != "" && t.Chain(r.Target) != nil {
				walk(r.Target)
			}
		}
	}
	walk(chain)
	return out
}

// ChainRule is a rule with the chain that holds it.
type ChainRule struct {
	Chain string
	Rule  IPRule
}

// Link returns the link called name, or nil.
func (n *NetFacts) Link(name string) *NetLink {
	if n == nil {
		return nil
	}
	for i := range n.Links {
		if n.Links[i].Name == name {
			return &n.Links[i]
		}
	}
	return nil
}

// DefaultRoute returns the first default route, or nil.
func (n *NetFacts) DefaultRoute() *NetRoute {
	if n == nil {
		return nil
	}
	for i := range n.Routes {
		if n.Routes[i].IsDefault() {
			return &n.Routes[i]
		}
	}
	return nil
}

// Negated splits a "!"-prefixed match value.
func Negated(v string) (value string, neg bool) {
	if rest, ok := strings.CutPrefix(v, "!"); ok {
		return rest, true
	}
	return v, false
}

// ParsePrefix reads "10.0.0.0/8", "10.0.0.1/24" (masked) or a bare
// address (as a /32).
func ParsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// NetConfig holds the network options.
type NetConfig struct {
	// Probe runs the active probe (a throwaway container fetching
	// ProbeTarget) during sweeps and after fixes.
	Probe       bool   `json:"probe"`
	ProbeImage  string `json:"probeImage,omitempty"`  // a local image with nc; default busybox:latest
	ProbeTarget string `json:"probeTarget,omitempty"` // HOST:PORT; default the default gateway, port 80
}

// IPTablesRule is one rule a step adds: "iptables -t Table -A Chain Rule…"
// (or -I Chain Position when Position > 0).
type IPTablesRule struct {
	Table    string   `json:"table"`
	Chain    string   `json:"chain"`
	Rule     []string `json:"rule"`
	Position int      `json:"position,omitempty"`
}

// SysctlChange sets one kernel parameter: now (under /proc/sys) or
// persistently (in File, a sysctl.d file on the node).
type SysctlChange struct {
	Key   string `json:"key"` // e.g. "net.ipv4.ip_forward"
	Value string `json:"value"`
	File  string `json:"file,omitempty"`
}

// ProcPath is the /proc/sys path of the parameter.
func (c SysctlChange) ProcPath() string {
	return "/proc/sys/" + strings.ReplaceAll(c.Key, ".", "/")
}

// Describe says in one line what the probe found.
func (p *NetProbe) Describe() string {
	switch {
	case p == nil:
		return "not run"
	case p.Skipped != "":
		return "not run: " + p.Skipped
	case p.Error != "":
		return "failed: " + p.Error
	case p.Reachable:
		return fmt.Sprintf("a container on docker0 (%s) reached %s in %d ms", p.Image, p.Target, p.DurationMs)
	}
	out := fmt.Sprintf("a container on docker0 (%s) could NOT reach %s (%d ms)", p.Image, p.Target, p.DurationMs)
	if p.Output != "" {
		out += ": " + p.Output
	}
	return out
}
