//go:build linux

package gather

import "testing"

// TestUnexaminedBackend: a backend whose save tool is missing is empty only
// when the kernel module that would hold its rules is not loaded; otherwise
// it is listed as unreadable, so the mismatch check cannot pass on it.
func TestUnexaminedBackend(t *testing.T) {
	mods := []byte("nf_tables 307200 1 nft_compat, Live 0x0\nip_tables 32768 0 - Live 0x0\n")
	if !moduleLoaded(mods, "nf_tables") || moduleLoaded(mods, "nf_tables_set") || moduleLoaded(nil, "ip_tables") {
		t.Fatal("moduleLoaded")
	}
	if b := unexamined("nft", "iptables-nft-save", "nf_tables", false); b.Error != "" || b.Rules != 0 {
		t.Errorf("module not loaded: %+v", b)
	}
	if b := unexamined("legacy", "iptables-legacy-save", "ip_tables", true); b.Error == "" {
		t.Errorf("module loaded, no tool: %+v, want an error", b)
	}
}
