package gather

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ValidateProbeTarget checks a --probe-target (or config net.probeTarget)
// before it becomes argv of nc in the probe container: HOST:PORT where
// HOST is an IP address or a DNS name and PORT a number from 1 to 65535.
// Anything else (e.g. "-e/bin/sh:80", which nc would take as options) is
// refused.
func ValidateProbeTarget(target string) error {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("probe target %q: want HOST:PORT: %w", target, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return fmt.Errorf("probe target %q: port %q is not a number from 1 to 65535", target, port)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !isDNSName(host) {
		return fmt.Errorf("probe target %q: %q is neither an IP address nor a DNS name", target, host)
	}
	return nil
}

// isDNSName tells whether s is a host name: dot-separated labels of
// letters, digits and inner hyphens (RFC 1123), 253 characters at most.
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
