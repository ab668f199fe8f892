package dockerconf

// The dockerd flag table, Docker 18.09 to 29.0, read from moby's own source at these tags
// (flag definitions, NamedOption names, hidden/deprecated marks, and the start-time checks
// that refuse a flag that still parses):
//
//	tag              repository      files
//	v18.09.0         docker/engine   cmd/dockerd/{config,config_common_unix,config_unix,daemon,options}.go, daemon/config/config.go, registry/config.go
//	v19.03.0         docker/engine   same files
//	v20.10.0         moby/moby       same files
//	v23.0.0          moby/moby       cmd/dockerd/{config,config_unix,daemon,daemon_unix,options}.go, daemon/config/config{,_linux}.go, registry/config.go
//	v24.0.0          moby/moby       same files
//	v25.0.0          moby/moby       same files
//	v26.0.0          moby/moby       same files
//	v27.0.1          moby/moby       same files (the v27.0.0 tag is absent from the snapshot; 27.0.1 only fixed bugs)
//	v28.0.0          moby/moby       same files
//	docker-v29.0.0   moby/moby       daemon/command/{config,config_unix,daemon,options}.go, daemon/config/config{,_linux}.go
//
// What changed between those tags, as the table encodes it:
//   - 19.03: --rootless added; --deprecated-key-path and --disable-legacy-registry removed.
//   - 20.10: --containerd-namespace, --containerd-plugins-namespace, --default-cgroupns-mode,
//     --host-gateway-ip, --ip6tables, --max-download-attempts added.
//   - 23.0: --graph/-g and "graph" parse but dockerd refuses to start ("the \"graph\" config
//     file option is deprecated; use \"data-root\" instead"); --cluster-store,
//     --cluster-store-opt and --cluster-advertise parse but are refused ("Host-discovery and
//     overlay networks with external k/v stores are deprecated..."); --validate,
//     --http-proxy, --https-proxy, --no-proxy added ("proxies" in daemon.json).
//   - 24.0: --graph and --cluster-* removed; --default-network-opt added.
//   - 25.0: --oom-score-adjust parses but a non-zero value is refused; --log-format and
//     --cdi-spec-dir added.
//   - 26.0: --oom-score-adjust removed.
//   - 28.0: --ip-forward-no-drop, --bip6 and --feature added; --host-gateway-ip becomes a
//     list (daemon.json "host-gateway-ips").
//   - 29.0: --allow-nondistributable-artifacts and --api-cors-header removed ("allow-
//     nondistributable-artifacts" is still accepted, ignored, in daemon.json);
//     --allow-direct-routing, --bridge-accept-fwmark, --firewall-backend added.

var (
	v1809 = Version{18, 9}
	v1903 = Version{19, 3}
	v2010 = Version{20, 10}
	v23   = Version{23, 0}
	v24   = Version{24, 0}
	v25   = Version{25, 0}
	v26   = Version{26, 0}
	v28   = Version{28, 0}
	v29   = Version{29, 0}
)

const (
	msgGraphRefused   = `the "graph" config file option is deprecated; use "data-root" instead`
	msgClusterRefused = "Host-discovery and overlay networks with external k/v stores are deprecated. The 'cluster-advertise', 'cluster-store', and 'cluster-store-opt' options have been removed"
	msgOOMRefused     = `DEPRECATED: The "oom-score-adjust" config parameter and the dockerd "--oom-score-adjust" options have been removed.`
)

// flagTable lists dockerd's flags with their daemon.json names and the releases that have
// them. A flag whose value is a "named option" (insecure-registry → insecure-registries)
// has a key other than its name; dockerd compares those by key, the others by flag name.
// One flag may have several rows when its daemon.json name changed.
var flagTable = []flagSpec{
	{name: "host", short: "H", key: "hosts", kind: kList},
	{name: "insecure-registry", key: "insecure-registries", kind: kList},
	{name: "registry-mirror", key: "registry-mirrors", kind: kList},
	{name: "allow-nondistributable-artifacts", key: "allow-nondistributable-artifacts", kind: kList, until: v29},
	{name: "log-driver", key: "log-driver", kind: kString},
	{name: "log-opt", key: "log-opts", kind: kMap},
	{name: "log-level", short: "l", key: "log-level", kind: kString},
	{name: "log-format", key: "log-format", kind: kString, since: v25},
	{name: "raw-logs", key: "raw-logs", kind: kBool},
	{name: "data-root", key: "data-root", kind: kString},
	{name: "graph", short: "g", key: "graph", kind: kString, until: v24, refusedFrom: v23, refused: msgGraphRefused},
	{name: "exec-root", key: "exec-root", kind: kString},
	{name: "storage-driver", short: "s", key: "storage-driver", kind: kString},
	{name: "storage-opt", key: "storage-opts", kind: kList},
	{name: "iptables", key: "iptables", kind: kBool},
	{name: "ip6tables", key: "ip6tables", kind: kBool, since: v2010},
	{name: "ip-forward", key: "ip-forward", kind: kBool},
	{name: "ip-forward-no-drop", key: "ip-forward-no-drop", kind: kBool, since: v28},
	{name: "ip-masq", key: "ip-masq", kind: kBool},
	{name: "icc", key: "icc", kind: kBool},
	{name: "userland-proxy", key: "userland-proxy", kind: kBool},
	{name: "userland-proxy-path", key: "userland-proxy-path", kind: kString},
	{name: "bip", key: "bip", kind: kString},
	{name: "bip6", key: "bip6", kind: kString, since: v28},
	{name: "bridge", short: "b", key: "bridge", kind: kString},
	{name: "fixed-cidr", key: "fixed-cidr", kind: kString},
	{name: "fixed-cidr-v6", key: "fixed-cidr-v6", kind: kString},
	{name: "ipv6", key: "ipv6", kind: kBool},
	{name: "default-gateway", key: "default-gateway", kind: kString},
	{name: "default-gateway-v6", key: "default-gateway-v6", kind: kString},
	{name: "ip", key: "ip", kind: kString},
	{name: "mtu", key: "mtu", kind: kInt},
	{name: "network-control-plane-mtu", key: "network-control-plane-mtu", kind: kInt},
	{name: "network-diagnostic-port", key: "network-diagnostic-port", kind: kInt},
	{name: "default-address-pool", key: "default-address-pools", kind: kList},
	{name: "default-network-opt", key: "default-network-opts", kind: kMap, since: v24},
	{name: "host-gateway-ip", key: "host-gateway-ip", kind: kString, since: v2010, until: v28},
	{name: "host-gateway-ip", key: "host-gateway-ips", kind: kList, since: v28},
	{name: "allow-direct-routing", key: "allow-direct-routing", kind: kBool, since: v29},
	{name: "bridge-accept-fwmark", key: "bridge-accept-fwmark", kind: kString, since: v29},
	{name: "firewall-backend", key: "firewall-backend", kind: kString, since: v29},
	{name: "debug", short: "D", key: "debug", kind: kBool},
	{name: "validate", key: "validate", kind: kBool, since: v23},
	{name: "exec-opt", key: "exec-opts", kind: kList},
	{name: "live-restore", key: "live-restore", kind: kBool},
	{name: "dns", key: "dns", kind: kList},
	{name: "dns-opt", key: "dns-opts", kind: kList},
	{name: "dns-search", key: "dns-search", kind: kList},
	{name: "default-ulimit", key: "default-ulimits", kind: kMap},
	{name: "max-concurrent-downloads", key: "max-concurrent-downloads", kind: kInt},
	{name: "max-concurrent-uploads", key: "max-concurrent-uploads", kind: kInt},
	{name: "max-download-attempts", key: "max-download-attempts", kind: kInt, since: v2010},
	{name: "containerd", key: "containerd", kind: kString},
	{name: "containerd-namespace", key: "containerd-namespace", kind: kString, since: v2010},
	{name: "containerd-plugins-namespace", key: "containerd-plugins-namespace", kind: kString, since: v2010},
	{name: "cri-containerd", key: "cri-containerd", kind: kBool},
	{name: "pidfile", short: "p", key: "pidfile", kind: kString},
	{name: "group", short: "G", key: "group", kind: kString},
	{name: "tls", key: "tls", kind: kBool},
	{name: "tlsverify", key: "tlsverify", kind: kBool},
	{name: "tlscacert", key: "tlscacert", kind: kString},
	{name: "tlscert", key: "tlscert", kind: kString},
	{name: "tlskey", key: "tlskey", kind: kString},
	{name: "selinux-enabled", key: "selinux-enabled", kind: kBool},
	{name: "userns-remap", key: "userns-remap", kind: kString},
	{name: "cgroup-parent", key: "cgroup-parent", kind: kString},
	{name: "default-runtime", key: "default-runtime", kind: kString},
	{name: "add-runtime", key: "runtimes", kind: kMap},
	{name: "label", key: "labels", kind: kList},
	{name: "experimental", key: "experimental", kind: kBool},
	{name: "metrics-addr", key: "metrics-addr", kind: kString},
	{name: "shutdown-timeout", key: "shutdown-timeout", kind: kInt},
	{name: "oom-score-adjust", key: "oom-score-adjust", kind: kInt, until: v26, refusedFrom: v25, refused: msgOOMRefused},
	{name: "no-new-privileges", key: "no-new-privileges", kind: kBool},
	{name: "seccomp-profile", key: "seccomp-profile", kind: kString},
	{name: "init", key: "init", kind: kBool},
	{name: "init-path", key: "init-path", kind: kString},
	{name: "default-shm-size", key: "default-shm-size", kind: kString},
	{name: "default-cgroupns-mode", key: "default-cgroupns-mode", kind: kString, since: v2010},
	{name: "default-ipc-mode", key: "default-ipc-mode", kind: kString},
	{name: "authorization-plugin", key: "authorization-plugins", kind: kList},
	{name: "cpu-rt-period", key: "cpu-rt-period", kind: kInt},
	{name: "cpu-rt-runtime", key: "cpu-rt-runtime", kind: kInt},
	{name: "node-generic-resource", key: "node-generic-resources", kind: kList},
	{name: "swarm-default-advertise-addr", key: "swarm-default-advertise-addr", kind: kString},
	{name: "api-cors-header", key: "api-cors-header", kind: kString, until: v29},
	{name: "rootless", key: "rootless", kind: kBool, since: v1903},
	{name: "restart", short: "r", key: "restart", kind: kBool},
	{name: "cluster-store", key: "cluster-store", kind: kString, until: v24, refusedFrom: v23, refused: msgClusterRefused},
	{name: "cluster-store-opt", key: "cluster-store-opts", kind: kMap, until: v24, refusedFrom: v23, refused: msgClusterRefused},
	{name: "cluster-advertise", key: "cluster-advertise", kind: kString, until: v24, refusedFrom: v23, refused: msgClusterRefused},
	{name: "http-proxy", key: "http-proxy", kind: kString, since: v23},
	{name: "https-proxy", key: "https-proxy", kind: kString, since: v23},
	{name: "no-proxy", key: "no-proxy", kind: kString, since: v23},
	{name: "cdi-spec-dir", key: "cdi-spec-dirs", kind: kList, since: v25},
	{name: "feature", key: "features", kind: kMap, since: v28},
	{name: "deprecated-key-path", key: "deprecated-key-path", kind: kString, until: v1903},
	{name: "disable-legacy-registry", key: "disable-legacy-registry", kind: kBool, until: v1903},
	{name: "config-file", key: "config-file", kind: kString},
}

// skipValidate are daemon.json keys dockerd accepts without a flag of that name
// (daemon/config skipValidateOptions).
func skipValidate(key string, v Version) bool {
	switch key {
	case "features", "builder", "deprecated-key-path":
		return true
	case "min-api-version", "allow-nondistributable-artifacts":
		return !v.Known() || !v.Less(v29)
	}
	return false
}

// flatOption reports whether an object-valued daemon.json key is a value of its own;
// dockerd flattens the other objects ("proxies") into their keys before validating them
// (daemon/config flatOptions).
func flatOption(key string, v Version) bool {
	switch key {
	case "cluster-store-opts", "log-opts", "runtimes", "default-ulimits", "features", "builder":
		return true
	case "default-network-opts":
		return !v.Known() || !v.Less(v24)
	}
	return false
}
