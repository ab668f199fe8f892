package diag

// NetFacts holds the node's network: links, routes, iptables tables, sysctls and dockerd's running flags.
type NetFacts struct{}
