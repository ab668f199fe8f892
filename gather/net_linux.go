//go:build linux

package gather

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
	"github.com/ksdoctor/ksdoctor/iptsave"
)

// gatherNetwork reads the network of this process's network namespace:
// links, addresses and routes over netlink, the nat and filter tables from
// one iptables-save, the forwarding sysctls, and what each
// iptables backend holds. The parts run concurrently; a part that fails is
// recorded in NetFacts.Errors and the rest is kept. Only netlink failing
// fails the source.
func gatherNetwork(ctx context.Context, g *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
	facts := &diag.NetFacts{}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		linkErr error
	)
	addErr := func(err error) {
		mu.Lock()
		facts.Errors = append(facts.Errors, err.Error())
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		links, routes, err := readLinksRoutes()
		mu.Lock()
		facts.Links, facts.Routes, linkErr = links, routes, err
		mu.Unlock()
	}()
	// One iptables-save for every table: iptables-nft fetches the whole
	// ruleset from the kernel whatever -t says, so one call costs half of
	// "-t nat" plus "-t filter".
	var save, sets []byte
	ipt := &diag.IPTablesFacts{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A hanging iptables-save is stopped before the source's deadline,
		// so the links, routes and sysctls read meanwhile are kept and only
		// the checks that read the tables say they could not judge.
		sctx := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			sctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)*3/4))
			defer cancel()
		}
		out, err := runSave(sctx, g.Gatherer, "iptables-save")
		if err != nil {
			addErr(fmt.Errorf("read the iptables tables: %w", err))
			return
		}
		mu.Lock()
		save = out
		mu.Unlock()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, err := ipsetSave(ctx, g.Gatherer)
		mu.Lock()
		defer mu.Unlock()
		sets = out
		if err != nil {
			facts.IPSetError = err.Error()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := binaryFacts(ctx, g.Gatherer)
		mu.Lock()
		*ipt = f
		mu.Unlock()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		fwd := readSysctl(g.Root(), "/proc/sys/net/ipv4/ip_forward")
		bnf := readSysctl(g.Root(), "/proc/sys/net/bridge/bridge-nf-call-iptables")
		conf := ipForwardConf(g.Gatherer)
		mu.Lock()
		facts.IPForward, facts.BridgeNFIP, facts.IPForwardConf = fwd, bnf, conf
		mu.Unlock()
	}()
	wg.Wait()
	if linkErr != nil {
		return nil, linkErr
	}
	facts.IPTables = ipt
	_ = ApplyNetDumps(facts, save, sets) // parse errors are in facts.Errors
	if len(facts.Tables) == 0 {
		facts.Tables = nil
	}
	if len(facts.Tables) > 0 && facts.Backend != "" {
		ts, _ := iptsave.ParseBytes(save)
		facts.Backends = otherBackends(ctx, g.Gatherer, facts.Backend, iptsave.CountRules(ts))
	}
	sort.Strings(facts.Errors)
	return func(s *diag.Snapshot) { s.Network = facts }, nil
}

// readLinksRoutes dumps links, IPv4 addresses and IPv4 main-table routes.
func readLinksRoutes() ([]diag.NetLink, []diag.NetRoute, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, nil, fmt.Errorf("list links over netlink: %w", err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, nil, fmt.Errorf("list addresses over netlink: %w", err)
	}
	rs, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, nil, fmt.Errorf("list routes over netlink: %w", err)
	}
	names := make(map[int]string, len(ls))
	for _, l := range ls {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	byIndex := map[int][]string{}
	for _, a := range addrs {
		if a.IPNet != nil {
			byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], a.IPNet.String())
		}
	}
	links := make([]diag.NetLink, 0, len(ls))
	for _, l := range ls {
		at := l.Attrs()
		links = append(links, diag.NetLink{
			Name:   at.Name,
			Index:  at.Index,
			Type:   l.Type(),
			State:  at.OperState.String(),
			Up:     at.Flags&net.FlagUp != 0,
			Master: names[at.MasterIndex],
			MTU:    at.MTU,
			Addrs:  byIndex[at.Index],
		})
	}
	routes := make([]diag.NetRoute, 0, len(rs))
	for _, r := range rs {
		nr := diag.NetRoute{Dst: "0.0.0.0/0", Dev: names[r.LinkIndex], Protocol: r.Protocol.String(), Scope: r.Scope.String()}
		if r.Dst != nil {
			nr.Dst = r.Dst.String()
		}
		if r.Gw != nil {
			nr.Gateway = r.Gw.String()
		}
		if r.Src != nil {
			nr.Src = r.Src.String()
		}
		routes = append(routes, nr)
	}
	return links, routes, nil
}

// runSave runs an iptables-save binary with argv only: the one on PATH,
// else the node's own (see lookTool).
func runSave(ctx context.Context, g *Gatherer, name string, args ...string) ([]byte, error) {
	path, chroot, err := lookTool(g, name)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	// At the deadline the whole process group is killed (a wrapper script's
	// children too), and the output pipes are not waited on for long.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Chroot: chroot}
	if chroot != "" {
		cmd.Dir = "/"
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// ipsetSave runs "ipset save" (argv only) when ipset is installed; nil
// without error when it is not (then no set can exist to match on).
func ipsetSave(ctx context.Context, g *Gatherer) ([]byte, error) {
	if _, _, err := lookTool(g, "ipset"); err != nil {
		return nil, fmt.Errorf("ipset is not installed, so no ipset could be read: %w", err)
	}
	return runSave(ctx, g, "ipset", "save")
}

// binaryFacts records what decides the iptables backend: "iptables -V",
// where iptables-save resolves, and the kernel's legacy tables
// (/proc/net/ip_tables_names).
func binaryFacts(ctx context.Context, g *Gatherer) diag.IPTablesFacts {
	var f diag.IPTablesFacts
	if out, err := runSave(ctx, g, "iptables", "-V"); err != nil {
		f.Errors = append(f.Errors, err.Error())
	} else {
		f.Version = strings.TrimSpace(string(out))
	}
	if p, chroot, err := lookTool(g, "iptables-save"); err != nil {
		f.Errors = append(f.Errors, "iptables-save not found: "+err.Error())
	} else if chroot != "" {
		f.Binary = p // as the node sees it
		if real, err := g.Root().Resolve(p); err == nil {
			f.Binary = real
		}
	} else if real, err := filepath.EvalSymlinks(p); err == nil {
		f.Binary = real
	} else {
		f.Binary = p
	}
	if names, err := g.Root().ReadFileLimit("/proc/net/ip_tables_names", 64<<10); err == nil {
		f.LegacyTablesRead = true
		f.LegacyTables = strings.Fields(string(names))
	} else if !errors.Is(err, fs.ErrNotExist) {
		f.Errors = append(f.Errors, err.Error())
	} else {
		f.LegacyTablesRead = true // no ip_tables module: no legacy table
	}
	return f
}

// otherBackends counts the rules of both backends. The one iptables uses
// was just read (active, n rules); the other is read only when it can hold
// something: legacy tables exist only when /proc/net/ip_tables_names lists
// them, nf_tables rules only when the nf_tables module is loaded. A backend
// that may hold rules but whose save tool is not on the node is listed with
// an error, never left out: the mismatch check then cannot judge, rather
// than pass.
func otherBackends(ctx context.Context, g *Gatherer, active string, n int) []diag.IPTablesBackend {
	out := []diag.IPTablesBackend{}
	if active != "" {
		out = append(out, diag.IPTablesBackend{Name: active, Rules: n})
	}
	count := func(name, bin string) {
		b := diag.IPTablesBackend{Name: name}
		data, err := runSave(ctx, g, bin)
		if err != nil {
			b.Error = err.Error()
		} else {
			ts, _ := iptsave.ParseBytes(data)
			b.Rules = iptsave.CountRules(ts)
		}
		out = append(out, b)
	}
	switch active {
	case "nft":
		names, err := g.Root().ReadFileLimit("/proc/net/ip_tables_names", 64<<10)
		if err == nil && len(bytes.TrimSpace(names)) == 0 {
			out = append(out, diag.IPTablesBackend{Name: "legacy"})
		} else if _, _, lerr := lookTool(g, "iptables-legacy-save"); lerr == nil {
			count("legacy", "iptables-legacy-save")
		} else {
			out = append(out, unexamined("legacy", "iptables-legacy-save", "ip_tables", !errors.Is(err, fs.ErrNotExist)))
		}
	case "legacy":
		if _, _, lerr := lookTool(g, "iptables-nft-save"); lerr == nil {
			count("nft", "iptables-nft-save")
		} else {
			mods, err := g.Root().ReadFileLimit("/proc/modules", 1<<20)
			out = append(out, unexamined("nft", "iptables-nft-save", "nf_tables", err != nil || moduleLoaded(mods, "nf_tables")))
		}
	}
	return out
}

// unexamined is the other backend when its save tool is missing: empty when
// the kernel module that holds its rules is not loaded, else unreadable.
func unexamined(name, tool, module string, mayHold bool) diag.IPTablesBackend {
	if !mayHold {
		return diag.IPTablesBackend{Name: name}
	}
	return diag.IPTablesBackend{Name: name, Error: fmt.Sprintf("%s may hold rules (module %s loaded or unknown) but %s is not on this node", name, module, tool)}
}

// moduleLoaded reports whether /proc/modules lists module.
func moduleLoaded(procModules []byte, module string) bool {
	for line := range strings.Lines(string(procModules)) {
		if name, _, _ := strings.Cut(line, " "); name == module {
			return true
		}
	}
	return false
}

// readSysctl reads one /proc/sys file under the host root; absent means not present.
func readSysctl(root hostfs.Root, path string) diag.Sysctl {
	b, err := root.ReadFileLimit(path, 64<<10)
	if err != nil {
		return diag.Sysctl{}
	}
	return diag.Sysctl{Present: true, Value: strings.TrimSpace(string(b))}
}

// ipForwardConf lists the lines of the sysctl configuration that set
// net.ipv4.ip_forward, in the order systemd-sysctl applies them (files by
// name across the directories, /etc first for the same name), then
// /etc/sysctl.conf, which procps's "sysctl --system" applies last.
func ipForwardConf(g *Gatherer) []diag.SysctlSetting {
	dirs := []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}
	chosen := map[string]string{} // base name → node path
	for _, d := range dirs {
		ents, err := g.Root().ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			if _, ok := chosen[e.Name()]; !ok {
				chosen[e.Name()] = filepath.Join(d, e.Name())
			}
		}
	}
	bases := make([]string, 0, len(chosen))
	for b := range chosen {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	files := make([]string, 0, len(bases)+1)
	for _, b := range bases {
		files = append(files, chosen[b])
	}
	files = append(files, "/etc/sysctl.conf")
	var out []diag.SysctlSetting
	seen := map[string]bool{}
	for _, f := range files {
		real, err := g.Root().Resolve(f)
		if err == nil && seen[real] { // 99-sysctl.conf → ../sysctl.conf
			continue
		}
		seen[real] = true
		out = append(out, sysctlLines(g.Root(), f, "net.ipv4.ip_forward")...)
	}
	return out
}

// sysctlLines returns the settings of key in one sysctl.conf-style file under the host root.
func sysctlLines(root hostfs.Root, name, key string) []diag.SysctlSetting {
	data, err := root.ReadFileLimit(name, 4<<20)
	if err != nil {
		return nil
	}
	var out []diag.SysctlSetting
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimPrefix(strings.TrimSpace(k), "-")
		if strings.ReplaceAll(k, "/", ".") == key {
			out = append(out, diag.SysctlSetting{File: name, Line: n, Value: strings.TrimSpace(v)})
		}
	}
	return out
}

// nodeToolDirs are where a node keeps iptables and ipset, as it sees them.
var nodeToolDirs = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"}

// lookTool finds a network tool: on this process's PATH (a sweep on the
// node, or an image that carries it); else, under a host root other than
// "/", the node's own binary, to run chrooted into the host root (chroot
// is "/" when it runs directly). The ksdoctor image carries no iptables:
// the node's own one finds the node's libraries and speaks the node's
// backend (legacy or nf_tables), which a copy in the image might not.
func lookTool(g *Gatherer, name string) (path, chroot string, err error) {
	p, err := exec.LookPath(name)
	if err == nil || g == nil || g.opts.HostRoot == "/" {
		return p, "", err
	}
	for _, d := range nodeToolDirs {
		np := d + "/" + name
		if fi, serr := g.Root().Stat(np); serr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return np, g.opts.HostRoot, nil
		}
	}
	return "", "", fmt.Errorf("%w; nor on the node under %s (%s)", err, g.opts.HostRoot, strings.Join(nodeToolDirs, ", "))
}
