package gather

import (
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerInfoFacts fills facts from the daemon's GET /info answer: the version, storage,
// logging and cgroup drivers, data-root, live-restore, and the running configuration the
// API exposes (registry mirrors and insecure registries, debug, labels, security options,
// proxies, address pools, the kernel's forwarding settings), for when /proc shows no dockerd.
func DockerInfoFacts(info system.Info, facts *diag.DockerFacts) {
	facts.Reachable = true
	facts.Version = info.ServerVersion
	facts.DataRoot = info.DockerRootDir
	facts.StorageDriver = info.Driver
	facts.LoggingDriver = info.LoggingDriver
	facts.CgroupDriver = info.CgroupDriver
	facts.LiveRestore = info.LiveRestoreEnabled
	d := &diag.DockerDaemonInfo{
		Debug:           info.Debug,
		Experimental:    info.ExperimentalBuild,
		Labels:          info.Labels,
		DefaultRuntime:  info.DefaultRuntime,
		SecurityOptions: info.SecurityOptions,
		HTTPProxy:       info.HTTPProxy,
		HTTPSProxy:      info.HTTPSProxy,
		NoProxy:         info.NoProxy,
		CgroupVersion:   info.CgroupVersion,
		IPv4Forwarding:  info.IPv4Forwarding,
		Warnings:        info.Warnings,
	}
	for _, p := range info.DefaultAddressPools {
		d.DefaultAddressPools = append(d.DefaultAddressPools, fmt.Sprintf("base=%s,size=%d", p.Base, p.Size))
	}
	if rc := info.RegistryConfig; rc != nil {
		d.RegistryMirrors = rc.Mirrors
		for _, c := range rc.InsecureRegistryCIDRs {
			if c != nil {
				d.InsecureRegistries = append(d.InsecureRegistries, c.String())
			}
		}
		var names []string
		for name, ic := range rc.IndexConfigs {
			if ic != nil && !ic.Secure {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		d.InsecureRegistries = append(d.InsecureRegistries, names...)
	}
	facts.Daemon = d
}

// DockerBridgeFacts records the default bridge network's options and IPv4 addressing.
func DockerBridgeFacts(nw network.Inspect, facts *diag.DockerFacts) {
	b := &diag.DockerBridge{Options: nw.Options}
	for _, c := range nw.IPAM.Config {
		if c.Subnet != "" && !strings.Contains(c.Subnet, ":") {
			facts.BridgeSubnets = append(facts.BridgeSubnets, c.Subnet)
			if b.Subnet == "" {
				b.Subnet, b.Gateway = c.Subnet, c.Gateway
			}
		}
	}
	if facts.Daemon != nil {
		facts.Daemon.Bridge = b
	}
}
