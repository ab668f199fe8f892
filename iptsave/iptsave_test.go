package iptsave

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestParseDockerKubeProxy(t *testing.T) {
	b, err := os.ReadFile("testdata/docker-kubeproxy.txt")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := ParseBytes(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := len(tables); got != 2 {
		t.Fatalf("got %d tables, want 2", got)
	}
	nat := findTable(t, tables, "nat")
	filter := findTable(t, tables, "filter")
	if got, want := CountRules(tables), 18; got != want {
		t.Errorf("CountRules = %d, want %d", got, want)
	}
	if p := filter.Chain("FORWARD").Policy; p != "DROP" {
		t.Errorf("FORWARD policy = %q, want DROP", p)
	}
	if p := nat.Chain("DOCKER").Policy; p != "" {
		t.Errorf("DOCKER policy = %q, want empty (user chain)", p)
	}
	tests := []struct {
		chain string
		idx   int
		want  diag.IPRule
	}{
		{"POSTROUTING", 1, diag.IPRule{Source: "172.17.0.0/16", OutIface: "!docker0", Target: "MASQUERADE"}},
		{"DOCKER", 0, diag.IPRule{InIface: "docker0", Target: "RETURN"}},
		{"OUTPUT", 0, diag.IPRule{Dest: "!127.0.0.0/8", Target: "DOCKER"}},
		// a quoted comment holding "-s" must not be read as a source match
		{"KUBE-SVC-NPX46M4PTMTKRN6Y", 0, diag.IPRule{Source: "!10.233.64.0/18", Dest: "10.233.0.1/32", Protocol: "tcp", Target: "KUBE-MARK-MASQ"}},
		{"KUBE-SEP-ABC", 0, diag.IPRule{Protocol: "tcp", Target: "DNAT"}},
		{"KUBE-POSTROUTING", 0, diag.IPRule{Target: "RETURN"}},
	}
	for _, tc := range tests {
		t.Run(tc.chain, func(t *testing.T) {
			c := nat.Chain(tc.chain)
			if c == nil || len(c.Rules) <= tc.idx {
				t.Fatalf("chain %s has no rule %d", tc.chain, tc.idx)
			}
			got := c.Rules[tc.idx]
			got.Spec = ""
			if got != tc.want {
				t.Errorf("rule %d of %s:\n got %+v\nwant %+v", tc.idx, tc.chain, got, tc.want)
			}
		})
	}
	// Reachable follows jumps into user chains.
	var chains []string
	for _, cr := range nat.Reachable("POSTROUTING") {
		chains = append(chains, cr.Chain)
	}
	if !strings.Contains(strings.Join(chains, ","), "KUBE-POSTROUTING") {
		t.Errorf("Reachable(POSTROUTING) chains %v miss KUBE-POSTROUTING", chains)
	}
}

func findTable(t *testing.T, tables []diag.IPTable, name string) *diag.IPTable {
	t.Helper()
	for i := range tables {
		if tables[i].Name == name {
			return &tables[i]
		}
	}
	t.Fatalf("no table %s", name)
	return nil
}

func TestParseBadInput(t *testing.T) {
	tests := []struct {
		name, in   string
		wantTables int
		wantRules  int
		wantErrs   []string
	}{
		{"empty", "", 0, 0, nil},
		{"garbage line inside table", "*nat\n:POSTROUTING ACCEPT [0:0]\nhello\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n", 1, 1, []string{"line 3"}},
		{"rule outside table", "-A FORWARD -j ACCEPT\n", 0, 0, []string{"outside a table"}},
		{"missing commit", "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j ACCEPT\n", 1, 1, []string{"no COMMIT"}},
		{"undeclared chain kept", "*filter\n-A X -j ACCEPT\nCOMMIT\n", 1, 1, []string{"undeclared chain X"}},
		{"unterminated quote", "*filter\n:X - [0:0]\n-A X -m comment --comment \"oops -j ACCEPT\nCOMMIT\n", 1, 0, []string{"unterminated quote"}},
		{"jump without target", "*filter\n:X - [0:0]\n-A X -j\nCOMMIT\n", 1, 0, []string{"without a target"}},
		{"counters", "*filter\n:X - [0:0]\n[12:3456] -A X -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n", 1, 1, nil},
		{"commit outside", "COMMIT\n", 0, 0, []string{"COMMIT outside"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tables, err := ParseBytes([]byte(tc.in))
			if len(tables) != tc.wantTables {
				t.Errorf("got %d tables, want %d", len(tables), tc.wantTables)
			}
			if got := CountRules(tables); got != tc.wantRules {
				t.Errorf("got %d rules, want %d", got, tc.wantRules)
			}
			if len(tc.wantErrs) == 0 && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			for _, w := range tc.wantErrs {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not mention %q", err, w)
				}
			}
			var le *LineError
			if err != nil && strings.Contains(tc.wantErrs[0], "line") && !errors.As(err, &le) {
				t.Errorf("error %v is not a *LineError", err)
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	got, err := Tokenize(`-m comment --comment "a \"b\" c"  -j  X`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-m", "comment", "--comment", `a "b" c`, "-j", "X"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/docker-kubeproxy.txt")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ParseBytes(b)
	var buf bytes.Buffer
	if err := Write(&buf, first); err != nil {
		t.Fatal(err)
	}
	second, err := ParseBytes(buf.Bytes())
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("round trip changed the tables:\n%s", buf.String())
	}
}

// FuzzParse: Parse never panics, and what it returns survives Write and a
// second Parse unchanged.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/docker-kubeproxy.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n"))
	f.Add([]byte("*filter\n-A X -m comment --comment \"a\\\"b\" -g Y\n"))
	f.Add([]byte("[1:2] -A\n*\n:\nCOMMIT\nCOMMIT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, _ := ParseBytes(data)
		var buf bytes.Buffer
		if err := Write(&buf, first); err != nil {
			t.Fatal(err)
		}
		second, err := ParseBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("reparse of written tables: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(normalize(first), normalize(second)) {
			t.Fatalf("round trip changed the tables:\nin  %q\nout %q", data, buf.String())
		}
	})
}

// normalize maps nil and empty slices alike.
func normalize(ts []diag.IPTable) []diag.IPTable {
	out := make([]diag.IPTable, 0, len(ts))
	for _, t := range ts {
		c := diag.IPTable{Name: t.Name, Chains: []diag.IPChain{}}
		for _, ch := range t.Chains {
			if len(ch.Rules) == 0 {
				ch.Rules = nil
			}
			c.Chains = append(c.Chains, ch)
		}
		out = append(out, c)
	}
	return out
}

// BenchmarkParse20k parses 20,000 kube-proxy-like nat rules, the size of
// the bench-net namespace.
func BenchmarkParse20k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("*nat\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n")
	for i := range 20000 {
		fmt.Fprintf(&buf, "-A KUBE-SERVICES -d 10.233.%d.%d/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%08X\n", i/250%250, i%250, i%50, i, i)
	}
	buf.WriteString("COMMIT\n")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseIPSets: any input parses without panicking, and every set
// read keeps a name.
func FuzzParseIPSets(f *testing.F) {
	f.Add([]byte("create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576\nadd cali40masq-ipam-pools 10.233.64.0/18\nadd cali40masq-ipam-pools 10.233.65.0/24 nomatch\n"))
	f.Add([]byte("Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 5\nHeader: family inet hashsize 1024 maxelem 65536\nSize in memory: 600\nReferences: 2\nNumber of entries: 1\nMembers:\n10.96.0.1,tcp:443\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sets, _ := ParseIPSets(b)
		for _, s := range sets {
			if s.Name == "" {
				t.Fatalf("a set without a name: %+v", s)
			}
		}
	})
}
