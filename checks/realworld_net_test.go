package checks

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/iptsave"
)

func init() { realWorldLoaders["net"] = loadRealWorldNet }

// realWorldNetCase is a case's net.json: the network facts a dump cannot
// carry (links, routes, sysctls, what the iptables binary and kernel say)
// and, optionally, Docker's bridge subnet and the running dockerd's argv.
type realWorldNetCase struct {
	DockerSubnet string         `json:"dockerSubnet,omitempty"`
	DockerdArgs  []string       `json:"dockerdArgs,omitempty"`
	Network      diag.NetFacts  `json:"network"`
	Restore      string         `json:"restore,omitempty"` // "legacy" or "nft": which iptables-restore the real-part test uses
	Notes        map[string]any `json:"notes,omitempty"`
}

// readRealWorldNet reads a case's network inputs; ok is false when the case
// has no iptables-save.txt.
func readRealWorldNet(dir string) (c realWorldNetCase, save, sets []byte, ok bool, err error) {
	save, err = os.ReadFile(filepath.Join(dir, "iptables-save.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil, nil, false, nil
	}
	if err != nil {
		return c, nil, nil, false, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ipset.txt")); err == nil {
		sets = b
	}
	data, err := os.ReadFile(filepath.Join(dir, "net.json"))
	if err != nil {
		return c, nil, nil, true, err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, nil, nil, true, err
	}
	return c, save, sets, true, nil
}

// loadRealWorldNet builds snap.Network from iptables-save.txt, ipset.txt
// and net.json with the gatherer's own parse code (gather.ApplyNetDumps).
func loadRealWorldNet(t *testing.T, dir string, snap *diag.Snapshot) bool {
	t.Helper()
	c, save, sets, ok, err := readRealWorldNet(dir)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	n := c.Network
	if err := gather.ApplyNetDumps(&n, save, sets); err != nil {
		t.Fatalf("%s: the dump does not parse: %v", dir, err)
	}
	// The backend iptables uses holds the dump's rules; the others are as
	// net.json says (what their own save printed).
	ts, _ := iptsave.ParseBytes(save)
	for i := range n.Backends {
		if n.Backends[i].Name == n.Backend {
			n.Backends[i].Rules = iptsave.CountRules(ts)
		}
	}
	snap.Network = &n
	markGathered(snap, diag.SourceNetwork)
	if c.DockerSubnet != "" {
		snap.Docker = &diag.DockerFacts{Reachable: true, BridgeSubnets: []string{c.DockerSubnet}}
		markGathered(snap, diag.SourceDocker)
	}
	if len(c.DockerdArgs) > 0 {
		snap.Dockerd = &diag.DockerdProcess{PID: 1234, Args: c.DockerdArgs, Found: "pidfile /var/run/docker.pid"}
		markGathered(snap, diag.SourceDockerdProc)
	}
	return true
}

// TestRealWorldDebian10Backend: on Debian 10's nft tools (header "xtables-save
// v1.8.2", no backend word) the warning names nf_tables as the backend in
// use, decided from the binary, never legacy from the header.
func TestRealWorldDebian10Backend(t *testing.T) {
	snap := loadRealWorldCase(t, "../testdata/realworld/debian10-xtables-header-mixed")
	if snap.Network.Backend != "nft" || !strings.Contains(snap.Network.BackendWhy, "nf_tables") {
		t.Fatalf("backend %q (%s)", snap.Network.Backend, snap.Network.BackendWhy)
	}
	fs, err := NetIPTablesBackendMismatch.Judge(snap, nil)
	if err != nil || len(fs) != 1 || !strings.Contains(fs[0].Summary, "uses nft") {
		t.Fatalf("findings %+v, err %v", fs, err)
	}
}
