package gather

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ksdoctor/ksdoctor/diag"
)

func gatherHost(_ context.Context, g *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
	h := &diag.HostFacts{Arch: runtime.GOARCH}
	// Inside a pod the container's hostname is not the node's: prefer the
	// host's /etc/hostname when a host root is mounted.
	if g.opts.HostRoot != "/" {
		if b, err := g.Root().ReadFileLimit("/etc/hostname", 4096); err == nil && validHostname(strings.TrimSpace(string(b))) {
			h.Hostname = strings.TrimSpace(string(b))
		}
	}
	if h.Hostname == "" {
		name, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("hostname: %w", err)
		}
		h.Hostname = name
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := g.Root().ReadFileLimit("/etc/os-release", 64<<10); err == nil {
		h.OS = osRelease(b)
	}
	if b, err := g.Root().ReadFileLimit("/proc/uptime", 4096); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				h.UptimeSeconds = int64(v)
			}
		}
	}
	return func(s *diag.Snapshot) { s.Host = h }, nil
}

// validHostname tells whether /etc/hostname holds a host name (RFC 1123 labels), not
// whatever a misdirected link put there: it goes into every report.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// osRelease returns PRETTY_NAME (else NAME VERSION) from os-release text.
func osRelease(b []byte) string {
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		vals[strings.TrimSpace(k)] = strings.Trim(v, `"'`)
	}
	if v := vals["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION"])
}
