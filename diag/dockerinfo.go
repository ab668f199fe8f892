package diag

// DockerDaemonInfo is the running daemon's configuration as the Docker API reports it
// (GET /info and the default "bridge" network). It tells what the running dockerd uses
// when /proc shows no dockerd (a pod without hostPID); values are as dockerd normalised
// them (mirrors with one trailing slash, 127.0.0.0/8 always among insecure registries).
// /info does not report --iptables, --ip-forward or log-opts.
type DockerDaemonInfo struct {
	RegistryMirrors []string `json:"registryMirrors,omitempty"`
	// InsecureRegistries are the insecure CIDRs and the registries marked insecure.
	InsecureRegistries []string `json:"insecureRegistries,omitempty"`
	Debug              bool     `json:"debug,omitempty"`
	Experimental       bool     `json:"experimental,omitempty"`
	Labels             []string `json:"labels,omitempty"`
	DefaultRuntime     string   `json:"defaultRuntime,omitempty"`
	// SecurityOptions are as /info lists them ("name=seccomp,profile=builtin", "name=userns").
	SecurityOptions []string `json:"securityOptions,omitempty"`
	HTTPProxy       string   `json:"httpProxy,omitempty"`
	HTTPSProxy      string   `json:"httpsProxy,omitempty"`
	NoProxy         string   `json:"noProxy,omitempty"`
	// DefaultAddressPools are "base=…,size=…" as the flag writes them.
	DefaultAddressPools []string `json:"defaultAddressPools,omitempty"`
	CgroupVersion       string   `json:"cgroupVersion,omitempty"`
	// IPv4Forwarding is net.ipv4.ip_forward as dockerd saw it.
	IPv4Forwarding bool     `json:"ipv4Forwarding"`
	Warnings       []string `json:"warnings,omitempty"`
	// Bridge is the default bridge network (nil when not read, or when dockerd runs
	// without one: BridgeAbsent).
	Bridge       *DockerBridge `json:"bridge,omitempty"`
	BridgeAbsent bool          `json:"bridgeAbsent,omitempty"`
}

// DockerBridge is Docker's default "bridge" network as the API reports it.
type DockerBridge struct {
	// Options are the network's driver options (com.docker.network.bridge.name,
	// …enable_ip_masquerade, …enable_icc, com.docker.network.driver.mtu).
	Options map[string]string `json:"options,omitempty"`
	// Subnet and Gateway of the IPv4 IPAM configuration.
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}
