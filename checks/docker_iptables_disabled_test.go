package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestIPTablesEnableRemediation(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/lib/systemd/system/docker.service":                       testUnit,
		"/etc/systemd/system/docker.service.d/docker-options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false --data-root=/var/lib/docker --log-opt max-size=10m\"\n",
	}, nil)
	rem, ok := iptablesEnableRemediation(diag.NewPass(&DockerIPTablesDisabled, s, nil))
	if !ok {
		t.Fatal("no remediation")
	}
	var edit *diag.FileEdit
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			edit = st.File
		}
	}
	if edit == nil || strings.Contains(edit.Content, "iptables") || !strings.Contains(edit.Content, "DOCKER_OPTS= --data-root=/var/lib/docker --log-opt") {
		t.Fatalf("edit %+v", edit)
	}
	if !strings.Contains(rem.Preview, "-Environment=\"DOCKER_OPTS= --iptables=false") || !strings.Contains(rem.Preview, "Blast radius") {
		t.Errorf("preview:\n%s", rem.Preview)
	}
	t.Log(rem.Preview)
}

func TestIPTablesEnableOnWrappedKubespray(t *testing.T) {
	s := confSnapshot(map[string]string{
		"/etc/systemd/system/docker.service":                       "[Service]\nType=notify\nExecStart=/usr/bin/dockerd \\\n          $DOCKER_OPTS \\\n          $DOCKER_DNS_OPTIONS\n",
		"/etc/systemd/system/docker.service.d/docker-options.conf": kubesprayWrapped,
	}, nil)
	if len(s.DockerConf.Problems) > 0 {
		t.Fatalf("problems on a valid wrapped value: %+v", s.DockerConf.Problems)
	}
	rem, ok := iptablesEnableRemediation(diag.NewPass(&DockerIPTablesDisabled, s, nil))
	if !ok || len(rem.Plan.Steps) == 0 {
		t.Fatalf("no remediation: %+v", rem)
	}
	var content string
	for _, st := range rem.Plan.Steps {
		if st.File != nil {
			content = st.File.Content
		}
	}
	if want := strings.Replace(kubesprayWrapped, " --iptables=false", "", 1); content != want {
		t.Fatalf("edited:\n%s\nwant:\n%s", content, want)
	}
}

// TestIPTablesDisabledCausesMasqueradeMissing: the engine links the two findings both ways, and
// the remediation's preview names the rule and the persistent fix.
func TestIPTablesDisabledCausesMasqueradeMissing(t *testing.T) {
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

func TestIPTablesDisabledReadsTheLastFlag(t *testing.T) {
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
		if _, off := iptablesDisabled(diag.NewPass(&DockerIPTablesDisabled, s, nil)); off != tc.off {
			t.Errorf("%v: disabled=%v, want %v", tc.args, off, tc.off)
		}
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
	fs, err := DockerIPTablesDisabled.Judge(s, nil)
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
	if fs, _ := DockerIPTablesDisabled.Judge(s, nil); len(fs) != 1 || !strings.Contains(fs[0].Summary, `"iptables": false`) {
		t.Errorf("daemon.json setting: %v", ids(fs))
	}
}
