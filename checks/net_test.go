package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/iptsave"
)

// netSnap builds a snapshot from a few facts: links "name type up master
// addr,addr", routes "dst dev [via gw]", iptables-save text and dockerd args.
func netSnap(t *testing.T, links, routes []string, save string, args ...string) *diag.Snapshot {
	t.Helper()
	n := &diag.NetFacts{IPForward: diag.Sysctl{Present: true, Value: "1"}, BridgeNFIP: diag.Sysctl{Present: true, Value: "1"}, Backend: "nft"}
	for _, l := range links {
		f := strings.Fields(l)
		nl := diag.NetLink{Name: f[0], Type: f[1], Up: f[2] == "up"}
		if len(f) > 3 && f[3] != "-" {
			nl.Master = f[3]
		}
		if len(f) > 4 {
			nl.Addrs = strings.Split(f[4], ",")
		}
		n.Links = append(n.Links, nl)
	}
	for _, r := range routes {
		f := strings.Fields(r)
		nr := diag.NetRoute{Dst: f[0], Dev: f[1]}
		if len(f) > 2 {
			nr.Gateway = f[2]
		}
		n.Routes = append(n.Routes, nr)
	}
	ts, err := iptsave.ParseBytes([]byte(save))
	if err != nil {
		t.Fatalf("fixture rules: %v", err)
	}
	n.Tables = ts
	s := &diag.Snapshot{SchemaVersion: diag.SchemaVersion, Network: n, Sources: map[diag.Source]*diag.SourceStatus{
		diag.SourceNetwork: {OK: true}, diag.SourceDocker: {OK: true}}}
	s.Docker = &diag.DockerFacts{Reachable: true, BridgeSubnets: []string{"172.17.0.0/16"}}
	if len(args) > 0 {
		s.Dockerd = &diag.DockerdProcess{PID: 42, Args: args, Found: "pidfile /var/run/docker.pid"}
		s.Sources[diag.SourceDockerdProc] = &diag.SourceStatus{OK: true}
	}
	return s
}

const (
	emptyNat     = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
	dockerNat    = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
	kubeOnlyNat  = "*nat\n:POSTROUTING ACCEPT [0:0]\n:KUBE-POSTROUTING - [0:0]\n-A POSTROUTING -j KUBE-POSTROUTING\n-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MASQUERADE --random-fully\nCOMMIT\n"
	workaround   = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -d 10.0.0.0/8 -m addrtype ! --dst-type LOCAL -j MASQUERADE\nCOMMIT\n"
	otherSubnet  = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n"
	onlyTCP      = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 -p tcp -j MASQUERADE\nCOMMIT\n"
	viaUserChain = "*nat\n:POSTROUTING ACCEPT [0:0]\n:MY-NAT - [0:0]\n-A POSTROUTING -j MY-NAT\n-A MY-NAT -s 172.16.0.0/12 -j MASQUERADE\nCOMMIT\n"
)

var docker0Up = []string{"eth0 device up - 10.0.0.5/24", "docker0 bridge up - 172.17.0.1/16"}

func ids(fs []diag.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"="+string(f.Severity))
	}
	slices.Sort(out)
	return out
}

func TestMasqueradeMissing(t *testing.T) {
	tests := []struct {
		name  string
		links []string
		save  string
		args  []string
		want  []string
	}{
		{"docker's own rule", docker0Up, dockerNat, nil, nil},
		{"no rule, docker0 up", docker0Up, emptyNat, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"no rule, docker0 down", []string{"docker0 bridge down - 172.17.0.1/16"}, emptyNat, nil, []string{"net.docker0-masquerade-missing=warning"}},
		{"kube-proxy's marked MASQUERADE does not cover docker0", docker0Up, kubeOnlyNat, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"kubespray workaround rule covers it", docker0Up, workaround, nil, nil},
		{"rule for another subnet", docker0Up, otherSubnet, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"tcp only is not enough", docker0Up, onlyTCP, nil, []string{"net.docker0-masquerade-missing=critical"}},
		{"wider rule in a user chain", docker0Up, viaUserChain, nil, nil},
		{"custom bridge, no rule", []string{"br-x bridge up - 172.17.0.1/16"}, emptyNat, []string{"/usr/bin/dockerd", "--bridge=br-x"}, []string{"net.docker0-masquerade-missing=critical"}},
		{"rule only towards the bridge itself", docker0Up, "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 -o docker0 -j MASQUERADE\nCOMMIT\n", nil, []string{"net.docker0-masquerade-missing=critical"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := netSnap(t, tc.links, nil, tc.save, tc.args...)
			got, err := runMasqueradeMissing(s, diag.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}

func TestMasqueradeSkipsWithoutBridge(t *testing.T) {
	s := netSnap(t, []string{"eth0 device up -"}, nil, emptyNat)
	_, err := runMasqueradeMissing(s, diag.DefaultConfig())
	if _, ok := diag.IsSkip(err); !ok {
		t.Errorf("want a skip, got %v", err)
	}
	s = netSnap(t, docker0Up, nil, emptyNat, "/usr/bin/dockerd", "--bridge=none")
	if _, err := runMasqueradeMissing(s, diag.DefaultConfig()); err == nil {
		t.Errorf("--bridge=none: want a skip")
	}
}

// TestSeedIncidentLinked: the engine links the two findings both ways, and
// the remediation's preview names the rule and the persistent fix.
func TestSeedIncidentLinked(t *testing.T) {
	s := netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, emptyNat, "/usr/bin/dockerd", "--iptables=false", "--exec-opt", "native.cgroupdriver=systemd")
	rep := diag.Run([]diag.Check{DockerIPTablesDisabled, NetDocker0MasqueradeMissing}, s, diag.DefaultConfig(), diag.RunOptions{})
	if got := ids(rep.Findings); !slices.Equal(got, []string{"docker.iptables-disabled=warning", "net.docker0-masquerade-missing=critical"}) {
		t.Fatalf("findings %v", got)
	}
	m, _ := rep.Finding("net.docker0-masquerade-missing")
	d, _ := rep.Finding("docker.iptables-disabled")
	if !slices.Equal(m.CausedBy, []string{"docker.iptables-disabled"}) || !slices.Equal(d.Causes, []string{"net.docker0-masquerade-missing"}) {
		t.Errorf("links: causedBy %v causes %v", m.CausedBy, d.Causes)
	}
	rem, _ := m.Remediation("net.docker0-masquerade-missing/add-rule")
	if st := rem.Plan.Steps[0].IPTablesRule; st == nil || strings.Join(st.Rule, " ") != "-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE" {
		t.Errorf("plan %+v", rem.Plan.Steps)
	}
	if !strings.Contains(rem.Preview, "docker.iptables-disabled/enable") || !strings.Contains(rem.Preview, "reboot") {
		t.Errorf("preview:\n%s", rem.Preview)
	}
	where := d.Evidence[0].Table
	if where == nil || where.Columns[0] != "SOURCE" || where.Rows[0][1] != "--iptables=false" || !strings.Contains(where.Rows[0][2], "argument 1") {
		t.Errorf("where-set evidence %+v", where)
	}
}

func TestDockerdFlag(t *testing.T) {
	tests := []struct {
		args []string
		off  bool
	}{
		{[]string{"dockerd"}, false},
		{[]string{"dockerd", "--iptables=false"}, true},
		{[]string{"dockerd", "--iptables=0"}, true},
		{[]string{"dockerd", "--iptables=false", "--iptables=true"}, false},
		{[]string{"dockerd", "--iptables"}, false},
		{[]string{"dockerd", "--ip-masq=false"}, false},
	}
	for _, tc := range tests {
		s := &diag.Snapshot{Dockerd: &diag.DockerdProcess{Args: tc.args}}
		if _, off := iptablesDisabled(s); off != tc.off {
			t.Errorf("%v: disabled=%v, want %v", tc.args, off, tc.off)
		}
	}
}

func TestForwardDropAndOverlapAndBackends(t *testing.T) {
	dropNoAccept := "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
	dropDocker := "*filter\n:FORWARD DROP [0:0]\n:DOCKER-FORWARD - [0:0]\n-A FORWARD -j DOCKER-FORWARD\n-A DOCKER-FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A DOCKER-FORWARD -i docker0 -j ACCEPT\nCOMMIT\n"
	calico := []string{"eth0 device up - 10.0.0.5/24", "docker0 bridge up - 172.17.0.1/16", "cali1 veth up -", "tunl0 ipip up - 10.233.97.128/32"}
	dropBoth := "*filter\n:FORWARD DROP [0:0]\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\n-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\nCOMMIT\n"
	tests := []struct {
		name  string
		check diag.Check
		links []string
		route []string
		save  string
		want  []string
	}{
		{"drop, nothing accepts", NetForwardPolicyDrop, docker0Up, nil, dropNoAccept, []string{"net.forward-policy-drop=warning"}},
		{"drop, Docker 28 DOCKER-FORWARD accepts", NetForwardPolicyDrop, docker0Up, nil, dropDocker, nil},
		{"drop, docker0 ok, calico pods not", NetForwardPolicyDrop, calico, nil, dropDocker, []string{"net.forward-policy-drop=warning"}},
		{"drop, KUBE-FORWARD and docker0 accept", NetForwardPolicyDrop, calico, nil, dropBoth, nil},
		{"accept policy", NetForwardPolicyDrop, docker0Up, nil, emptyNat, nil},
		{"no overlap", NetDocker0CIDROverlap, calico, []string{"10.233.97.175/32 cali1", "172.17.0.0/16 docker0"}, emptyNat, nil},
		{"pod route inside docker0", NetDocker0CIDROverlap, calico, []string{"172.17.3.4/32 cali1"}, emptyNat, []string{"net.docker0-cidr-overlap=warning"}},
		{"VPN address overlaps", NetDocker0CIDROverlap, append(slices.Clone(docker0Up), "tun0 tun up - 172.16.0.0/12"), nil, emptyNat, []string{"net.docker0-cidr-overlap=warning"}},
		{"veth on docker0 is not an overlap", NetDocker0CIDROverlap, append(slices.Clone(docker0Up), "veth1 veth up docker0 172.17.0.9/16"), nil, emptyNat, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := netSnap(t, tc.links, tc.route, tc.save)
			got, err := tc.check.Run(s, diag.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}

func TestSysctlChecks(t *testing.T) {
	s := netSnap(t, append(slices.Clone(docker0Up), "veth1 veth up docker0"), nil, emptyNat)
	s.Network.IPForward = diag.Sysctl{Present: true, Value: "0"}
	s.Network.IPForwardConf = []diag.SysctlSetting{{File: "/etc/sysctl.conf", Line: 7, Value: "0"}}
	s.Network.BridgeNFIP = diag.Sysctl{}
	fw, _ := runIPForward(s, nil)
	if got := ids(fw); !slices.Equal(got, []string{"net.ip-forward-disabled=critical"}) {
		t.Fatalf("ip_forward: %v", got)
	}
	if rem := fw[0].Remediations[0]; !strings.Contains(rem.Preview, "/etc/sysctl.conf line 7 sets it to 0") || len(rem.Plan.Steps) != 2 || !rem.Plan.Transactional {
		t.Errorf("remediation %+v", rem)
	}
	bnf, _ := runBridgeNF(s, nil)
	if len(bnf) != 1 || bnf[0].Title != "br_netfilter is not loaded" || len(bnf[0].Remediations) != 0 {
		t.Errorf("bridge-nf absent: %+v", bnf)
	}
	s.Network.BridgeNFIP = diag.Sysctl{Present: true, Value: "0"}
	if bnf, _ := runBridgeNF(s, nil); len(bnf) != 1 || len(bnf[0].Remediations) != 1 {
		t.Errorf("bridge-nf 0: %+v", bnf)
	}
	s.Network.Backends = []diag.IPTablesBackend{{Name: "nft", Rules: 30}, {Name: "legacy", Rules: 2}}
	if got, _ := runBackendMismatch(s, nil); len(got) != 1 {
		t.Errorf("backends: %v", ids(got))
	}
	s.Network.Backends[1].Rules = 0
	if got, _ := runBackendMismatch(s, nil); len(got) != 0 {
		t.Errorf("one backend: %v", ids(got))
	}
}

// TestIPTablesDisabledWhereSet: with the dockerd configuration facts, the
// evidence names the drop-in file and line, and the persistent fix is
// offered.
func TestIPTablesDisabledWhereSet(t *testing.T) {
	args := []string{"/usr/sbin/dockerd", "-H", "fd://", "--iptables=false", "--data-root=/var/lib/docker"}
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false --data-root=/var/lib/docker\"\n",
	}, args)
	s.Dockerd = &diag.DockerdProcess{PID: 7, Args: args, Found: "pidfile /var/run/docker.pid"}
	fs, err := runIPTablesDisabled(s, nil)
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v, err %v", ids(fs), err)
	}
	rows := fs[0].Evidence[0].Table.Rows
	var where []string
	for _, r := range rows {
		where = append(where, r[2])
	}
	if len(rows) != 2 || !strings.Contains(rows[1][2], "/etc/systemd/system/docker.service.d/docker-options.conf:2") {
		t.Errorf("where set: %v", where)
	}
	if _, ok := fs[0].Remediation("docker.iptables-disabled/enable"); !ok {
		t.Errorf("no docker.iptables-disabled/enable remediation")
	}
	// daemon.json alone, no flag on the running command line.
	s = confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service": testUnit,
		"/etc/docker/daemon.json":            "{\"iptables\": false}\n",
	}, []string{"/usr/sbin/dockerd", "-H", "fd://"})
	s.Dockerd = &diag.DockerdProcess{PID: 7, Args: []string{"/usr/sbin/dockerd", "-H", "fd://"}}
	if fs, _ := runIPTablesDisabled(s, nil); len(fs) != 1 || !strings.Contains(fs[0].Summary, `"iptables": false`) {
		t.Errorf("daemon.json setting: %v", ids(fs))
	}
}

// TestNetpathVerdicts: a match the walker cannot evaluate that changes the
// answer is an info "unknown" finding and a check error, never a pass or
// an alarm; a MASQUERADE written by hand makes --iptables=false info.
func TestNetpathVerdicts(t *testing.T) {
	physdev := "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m physdev --physdev-is-bridged -j RETURN\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n"
	s := netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, physdev)
	rep := diag.Run([]diag.Check{NetDocker0MasqueradeMissing}, s, diag.DefaultConfig(), diag.RunOptions{})
	if got := ids(rep.Findings); !slices.Equal(got, []string{"net.docker0-masquerade-missing/unknown=info"}) || rep.Checks[0].Status != diag.StatusError {
		t.Errorf("unknown: findings %v, status %s", got, rep.Checks[0].Status)
	}
	s = netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, workaround, "/usr/bin/dockerd", "--iptables=false")
	rep = diag.Run([]diag.Check{DockerIPTablesDisabled, NetDocker0MasqueradeMissing}, s, diag.DefaultConfig(), diag.RunOptions{})
	if got := ids(rep.Findings); !slices.Equal(got, []string{"docker.iptables-disabled=info"}) {
		t.Errorf("workaround: %v", got)
	}
}

// TestRawDumpInSnapshot: a snapshot that carries only a raw iptables-save
// dump and ipset list (no parsed tables) is judged the same.
func TestRawDumpInSnapshot(t *testing.T) {
	s := netSnap(t, docker0Up, []string{"0.0.0.0/0 eth0 10.0.0.1"}, "")
	s.Network.Tables = nil
	s.Network.IPTablesSave = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m set --match-set DOCKERNETS src -j MASQUERADE\nCOMMIT\n"
	s.Network.IPSetSave = "create DOCKERNETS hash:net family inet\nadd DOCKERNETS 172.17.0.0/16\n"
	if got, err := runMasqueradeMissing(s, diag.DefaultConfig()); err != nil || len(got) != 0 {
		t.Errorf("raw dump with the set: %v, %v", ids(got), err)
	}
	s.Network.IPSetSave = "create DOCKERNETS hash:net family inet\nadd DOCKERNETS 10.0.0.0/8\n"
	if got, _ := runMasqueradeMissing(s, diag.DefaultConfig()); !slices.Equal(ids(got), []string{"net.docker0-masquerade-missing=critical"}) {
		t.Errorf("raw dump, set without docker0: %v", ids(got))
	}
	if s.Network.Tables != nil || s.Network.IPSets != nil {
		t.Errorf("the check changed the snapshot")
	}
}
