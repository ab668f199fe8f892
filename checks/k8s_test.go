package checks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func clusterSnap(c *diag.ClusterFacts) *diag.Snapshot {
	return &diag.Snapshot{
		SchemaVersion: diag.SchemaVersion,
		StartedAt:     t0,
		Host:          &diag.HostFacts{Hostname: "node-1"},
		Sources: map[diag.Source]*diag.SourceStatus{
			diag.SourceCluster: {Source: diag.SourceCluster, OK: true},
			diag.SourceHost:    {Source: diag.SourceHost, OK: true},
		},
		Cluster: c,
	}
}

func byID(fs []diag.Finding) map[string]diag.Finding {
	m := map[string]diag.Finding{}
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func TestEvictedPodsUnit(t *testing.T) {
	c := &diag.ClusterFacts{FailedPods: []diag.PodFacts{
		{Namespace: "a", Name: "p1", UID: "u1", Node: "node-1", Phase: "Failed", Reason: "Evicted", Message: "The node had condition: [DiskPressure]. ", CreatedAt: t0.Add(-2 * time.Hour)},
		{Namespace: "a", Name: "p2", UID: "u2", Node: "node-1", Phase: "Failed", Reason: "Evicted", Message: "The node had condition: [DiskPressure]. ", CreatedAt: t0.Add(-time.Hour)},
		{Namespace: "b", Name: "job", UID: "u3", Phase: "Failed", Reason: "DeadlineExceeded"},
	}}
	fs, err := runEvictedPods(clusterSnap(c), diag.DefaultConfig())
	if err != nil || len(fs) != 1 {
		t.Fatalf("got %d findings, %v", len(fs), err)
	}
	f := fs[0]
	if !slices.Equal(f.CausedBy, []string{"k8s.node-conditions/node-1"}) {
		t.Errorf("causedBy %v", f.CausedBy)
	}
	rem := f.Remediations[0]
	var uids []string
	for _, s := range rem.Plan.Steps {
		if s.Kind != diag.StepDeletePod {
			t.Errorf("step kind %s", s.Kind)
		}
		uids = append(uids, s.Pod.UID)
	}
	slices.Sort(uids)
	if !slices.Equal(uids, []string{"u1", "u2"}) {
		t.Errorf("plan UIDs %v, want u1 u2 (not the failed job)", uids)
	}
	g := f.Evidence[0].Table
	if len(g.Rows) != 1 || g.Rows[0][2] != "2" || g.Rows[0][3] != "2h" {
		t.Errorf("group table %v", g.Rows)
	}
}

func TestClusterChecksPartial(t *testing.T) {
	c := &diag.ClusterFacts{Partial: map[string]string{diag.ClusterAreaPods: `pods is forbidden: User "x" cannot list resource "pods"`}}
	rep := diag.Run([]diag.Check{K8sEvictedPods, K8sCrashLoopPods, DevopsJenkinsCascStale}, clusterSnap(c), nil, diag.RunOptions{})
	st := map[string]diag.CheckResult{}
	for _, r := range rep.Checks {
		st[r.ID] = r
	}
	if st["k8s.evicted-pods"].Status != diag.StatusError || !strings.Contains(st["k8s.evicted-pods"].Error, "forbidden") {
		t.Errorf("evicted with unreadable pods: %+v", st["k8s.evicted-pods"])
	}
	if st["devops.jenkins-casc-stale"].Status != diag.StatusSkipped {
		t.Errorf("jenkins without devops: %+v", st["devops.jenkins-casc-stale"])
	}
}

func TestClusterChecksSkippedWithoutCluster(t *testing.T) {
	s := clusterSnap(nil)
	s.Sources[diag.SourceCluster] = &diag.SourceStatus{Source: diag.SourceCluster, Error: gather.ErrNoKubeconfig.Error(), Absent: true}
	rep := diag.Run(All(), s, nil, diag.RunOptions{})
	for _, r := range rep.Checks {
		if (strings.HasPrefix(r.ID, "k8s.") || strings.HasPrefix(r.ID, "devops.")) && (r.Status != diag.StatusSkipped || !strings.Contains(r.Reason, "no kubeconfig")) {
			t.Errorf("%s: %s %q, want skipped with the reason", r.ID, r.Status, r.Reason)
		}
	}
}

func TestNodeConditionsLinkDisk(t *testing.T) {
	c := &diag.ClusterFacts{NodeName: "node-1", Nodes: []diag.NodeFacts{
		{Name: "node-1", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "True"}, {Type: "DiskPressure", Status: "True"}}},
		{Name: "node-2", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "False"}}},
		{Name: "node-3", Conditions: []diag.NodeCondition{{Type: "Ready", Status: "True"}, {Type: "MemoryPressure", Status: "False"}}},
	}}
	s := clusterSnap(c)
	s.Sources[diag.SourceFilesystems] = &diag.SourceStatus{Source: diag.SourceFilesystems, OK: true}
	s.Filesystems = []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", MountPoint: "/", TotalBytes: 100, UsedBytes: 95, FreeBytes: 5}}
	rep := diag.Run([]diag.Check{DiskDockerRootUsage, K8sNodeConditions}, s, nil, diag.RunOptions{})
	m := byID(rep.Findings)
	n1, ok := m["k8s.node-conditions/node-1"]
	if !ok || n1.Severity != diag.Warning || !slices.Equal(n1.CausedBy, []string{"disk.docker-root-usage"}) {
		t.Errorf("node-1: %v %s causedBy %v", ok, n1.Severity, n1.CausedBy)
	}
	if !slices.Contains(m["disk.docker-root-usage"].Causes, "k8s.node-conditions/node-1") {
		t.Errorf("disk finding causes %v", m["disk.docker-root-usage"].Causes)
	}
	if m["k8s.node-conditions/node-2"].Severity != diag.Critical {
		t.Errorf("node-2 NotReady: %+v", m["k8s.node-conditions/node-2"])
	}
	if _, ok := m["k8s.node-conditions/node-3"]; ok {
		t.Errorf("healthy node-3 reported")
	}
	// Without the disk finding the link is dropped.
	s.Filesystems[0].UsedBytes = 10
	rep = diag.Run([]diag.Check{DiskDockerRootUsage, K8sNodeConditions}, s, nil, diag.RunOptions{})
	if f := byID(rep.Findings)["k8s.node-conditions/node-1"]; len(f.CausedBy) != 0 {
		t.Errorf("link kept without a disk finding: %v", f.CausedBy)
	}
}

func testCert(t *testing.T, nb, na time.Time, names ...string) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, NotBefore: nb, NotAfter: na, DNSNames: names}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func tlsSecret(t *testing.T, ns, name string, crt, key []byte) *diag.TLSSecretFacts {
	s := &diag.TLSSecretFacts{Namespace: ns, Name: name, Found: true, Type: "kubernetes.io/tls"}
	gather.ParseTLSSecretData(s, crt, key)
	return s
}

func TestIngressTLSUnit(t *testing.T) {
	valid := func(names ...string) (crt, key []byte) {
		return testCert(t, t0.Add(-time.Hour), t0.Add(60*24*time.Hour), names...)
	}
	sec := map[string]*diag.TLSSecretFacts{}
	add := func(name string, crt, key []byte) { sec["ns/"+name] = tlsSecret(t, "ns", name, crt, key) }
	crt, key := valid("one.test")
	add("pair", crt, key)
	crt2, _ := valid("other.test")
	add("badkey", crt2, key) // key of another certificate
	crt, key = valid("*.w.test")
	add("wild", crt, key)
	crt, key = valid("any.test", "fallback.test")
	add("fb", crt, key)
	sec["ns/missing"] = &diag.TLSSecretFacts{Namespace: "ns", Name: "missing"}
	ing := func(name string, age time.Duration, rules []string, tls ...diag.IngressTLS) diag.IngressFacts {
		return diag.IngressFacts{Namespace: "ns", Name: name, CreatedAt: t0.Add(-age), RuleHosts: rules, TLS: tls}
	}
	c := &diag.ClusterFacts{TLSSecrets: sec, IngressControllersGathered: true, IngressControllers: []diag.IngressControllerFacts{nginxController("v1.3.1", "--watch-ingress-without-class=true")},
		Ingresses: []diag.IngressFacts{
			ing("seed", time.Hour, []string{"one.test", "two.test"}, diag.IngressTLS{Hosts: []string{"one.test", "two.test"}, SecretName: "pair"}),
			ing("wild", time.Hour, []string{"a.w.test", "a.b.w.test"}, diag.IngressTLS{Hosts: []string{"a.w.test", "a.b.w.test"}, SecretName: "wild"}),
			ing("key", time.Hour, []string{"other.test"}, diag.IngressTLS{Hosts: []string{"other.test"}, SecretName: "badkey"}),
			// A rule host not listed in tls.hosts is served any listed secret that verifies it.
			ing("fallback", time.Hour, []string{"fallback.test"}, diag.IngressTLS{Hosts: []string{"any.test"}, SecretName: "fb"}),
			// plain.test is not under TLS: a plain-HTTP host, not judged.
			ing("plain", time.Hour, []string{"any.test", "plain.test"}, diag.IngressTLS{Hosts: []string{"any.test"}, SecretName: "fb"}),
			// A TLS entry without hosts applies to every rule host.
			ing("nohosts", time.Hour, []string{"nh.test"}, diag.IngressTLS{SecretName: "missing"}),
			// Newer broken Ingress for one.test: ignored, the older one wins.
			ing("newer", time.Minute, []string{"one.test"}, diag.IngressTLS{Hosts: []string{"one.test"}, SecretName: "missing"}),
		}}
	fs, err := runIngressTLS(clusterSnap(c), diag.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]diag.Severity{}
	for _, f := range fs {
		got[f.ID] = f.Severity
	}
	want := map[string]diag.Severity{
		"k8s.ingress-tls/two.test":   diag.Critical, // the seed's case
		"k8s.ingress-tls/a.b.w.test": diag.Critical, // a wildcard covers one label only
		"k8s.ingress-tls/other.test": diag.Critical, // key does not match
		"k8s.ingress-tls/one.test":   diag.Warning,  // two Ingresses, different secrets; oldest wins
		"k8s.ingress-tls/nh.test":    diag.Critical, // TLS without hosts, secret missing
	}
	for id, sev := range want {
		if got[id] != sev {
			t.Errorf("%s: %q, want %q", id, got[id], sev)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected %s %s", id, got[id])
		}
	}
}

func TestJenkinsCascUnit(t *testing.T) {
	j := &diag.JenkinsFacts{Namespace: "kubesphere-devops-system", ConfigMapFound: true, DeploymentFound: true, Deployment: "devops-jenkins",
		ConfigChangedAt: t0.Add(-time.Hour), ConfigChangedBy: "kubectl-edit", ConfigImages: []string{"builder:v2"},
		Pods: []diag.PodFacts{{Name: "devops-jenkins-x", StartedAt: t0.Add(-48 * time.Hour), Containers: []diag.ContainerStatus{{Image: "ks-jenkins:1"}}}}}
	j.DevOps = &diag.DevOpsFacts{Version: "v3.1.1", VersionFrom: "ks-apiserver image kubesphere/ks-apiserver:v3.1.1"}
	s := clusterSnap(&diag.ClusterFacts{Jenkins: j})
	fs, err := runJenkinsCascStale(s, nil)
	if err != nil || len(fs) != 1 || fs[0].Severity != diag.Warning || len(fs[0].Remediations) != 1 {
		t.Fatalf("stale: %+v %v", fs, err)
	}
	w := fs[0].Remediations[0].Plan.Steps[0].Workload
	if w.RestartedAt != t0.Format(time.RFC3339) || w.Name != "devops-jenkins" {
		t.Errorf("workload %+v", w)
	}
	j.RestartedAt = t0.Add(-time.Minute).Format(time.RFC3339)
	fs, _ = runJenkinsCascStale(s, nil)
	if len(fs) != 1 || fs[0].Severity != diag.Info || len(fs[0].Remediations) != 0 {
		t.Errorf("restart pending: %+v", fs)
	}
	j.Pods[0].StartedAt = t0.Add(-time.Minute)
	if fs, _ := runJenkinsCascStale(s, nil); len(fs) != 0 {
		t.Errorf("fresh pod: %+v", fs)
	}
	s.Cluster.Jenkins = nil
	if _, err := runJenkinsCascStale(s, nil); err == nil {
		t.Error("no devops: want skip")
	} else if _, ok := diag.IsSkip(err); !ok {
		t.Errorf("no devops: %v, want skip", err)
	}
}
