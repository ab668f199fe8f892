package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

var clusterCheckIDs = []string{"k8s.node-conditions", "k8s.evicted-pods", "k8s.crashloop-pods", "k8s.ingress-tls", "devops.jenkins-casc-stale"}

// longTimeouts is a config that gives the cluster source time on a loaded
// test machine.
func longTimeouts(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ksdoctor.yaml")
	if err := os.WriteFile(p, []byte("timeouts:\n  source: 60s\n  sweep: 90s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNoClusterSkipsClusterChecks: without any kubeconfig the cluster checks
// are skipped with the reason and the node checks still run.
func TestNoClusterSkipsClusterChecks(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(home, "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	r := ksd(t, "sweep", "--format", "json", "--docker-host", "unix://"+filepath.Join(home, "no-docker.sock"), "--timeout", "10s")
	rep := decodeReport(t, []byte(r.stdout))
	for _, id := range clusterCheckIDs {
		st := checkStatus(t, rep, id)
		if st.Status != diag.StatusSkipped || !strings.Contains(st.Reason, "no kubeconfig found") {
			t.Errorf("%s: %s %q, want skipped: no kubeconfig found", id, st.Status, st.Reason)
		}
	}
	if _, ok := rep.Finding("docker.daemon-unreachable"); !ok {
		t.Errorf("node checks did not run: %v", findingIDs(rep))
	}
	// An explicit --kubeconfig that does not exist: the check could not judge.
	r = ksd(t, "sweep", "--format", "json", "--checks", "k8s.evicted-pods", "--kubeconfig", filepath.Join(home, "nope.yaml"))
	r.wantCode(t, exitErrored)
	rep = decodeReport(t, []byte(r.stdout))
	if st := checkStatus(t, rep, "k8s.evicted-pods"); st.Status != diag.StatusError || !strings.Contains(st.Error, "nope.yaml") {
		t.Errorf("missing --kubeconfig: %+v", st)
	}
	// A kubeconfig whose API server does not answer (a closed loopback port).
	dead := filepath.Join(home, "dead.yaml")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(dead, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r = ksd(t, "sweep", "--format", "json", "--checks", "k8s.evicted-pods,k8s.node-conditions", "--kubeconfig", dead)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("sweep with a dead API server took %s", took)
	}
	r.wantCode(t, exitErrored)
	rep = decodeReport(t, []byte(r.stdout))
	if st := checkStatus(t, rep, "k8s.evicted-pods"); st.Status != diag.StatusError || !strings.Contains(st.Error, "not reachable") {
		t.Errorf("dead API server: %+v", st)
	}
}

// TestClusterSweepAndFixCLI runs the binary as a user would against a real
// kube-apiserver: sweep --kubeconfig, fix --dry-run, fix --yes, sweep again.
func TestClusterSweepAndFixCLI(t *testing.T) {
	c := kube.Start(t)
	cs := c.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := kube.EnsureNamespace(ctx, cs, "ksdt-cli"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := kube.CreatePod(ctx, cs, "ksdt-cli", "evicted-"+n, kube.PodOptions{NodeName: "ksdt-node", Status: kube.EvictedStatus("")}); err != nil {
			t.Fatal(err)
		}
	}
	kc := c.WriteKubeconfig(t, kube.Admin)
	cfg := longTimeouts(t)
	// The fix journal goes under a temporary host root.
	root := t.TempDir()
	checks := strings.Join(clusterCheckIDs, ",")

	r := ksd(t, "sweep", "--kubeconfig", kc, "--config", cfg, "--checks", checks, "--format", "json")
	r.wantCode(t, 1)
	rep := decodeReport(t, []byte(r.stdout))
	f, ok := rep.Finding("k8s.evicted-pods")
	if !ok || !strings.Contains(f.Title, "3 evicted pods") {
		t.Fatalf("sweep: %v %q", findingIDs(rep), f.Title)
	}
	if st := checkStatus(t, rep, "devops.jenkins-casc-stale"); st.Status != diag.StatusSkipped {
		t.Errorf("jenkins without devops: %+v", st)
	}
	text := ksd(t, "sweep", "--kubeconfig", kc, "--context", kube.ContextName, "--config", cfg, "--checks", checks)
	text.wantCode(t, 1)
	if !strings.Contains(text.stdout, "k8s.evicted-pods/delete") {
		t.Errorf("text report does not offer the fix:\n%s", text.stdout)
	}

	dry := ksd(t, "fix", "k8s.evicted-pods/delete", "--dry-run", "--kubeconfig", kc, "--config", cfg, "--host-root", root)
	dry.wantCode(t, 0)
	if !strings.Contains(dry.stdout, "ksdt-cli: evicted-a evicted-b evicted-c") || !strings.Contains(dry.stdout, "UID") {
		t.Errorf("dry run preview:\n%s", dry.stdout)
	}
	list, _ := cs.CoreV1().Pods("ksdt-cli").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 3 {
		t.Fatalf("dry run changed the cluster: %d pods", len(list.Items))
	}

	noTTY := ksd(t, "fix", "k8s.evicted-pods/delete", "--kubeconfig", kc, "--config", cfg, "--host-root", root)
	noTTY.wantCode(t, 4)

	fix := ksd(t, "fix", "k8s.evicted-pods/delete", "--yes", "--kubeconfig", kc, "--config", cfg, "--host-root", root)
	fix.wantCode(t, 0)
	if !strings.Contains(fix.stdout, "3 done") || !strings.Contains(fix.stdout, "verified") {
		t.Errorf("fix output:\n%s", fix.stdout)
	}
	list, _ = cs.CoreV1().Pods("ksdt-cli").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("%d pods left after the fix", len(list.Items))
	}
	again := ksd(t, "fix", "k8s.evicted-pods/delete", "--yes", "--kubeconfig", kc, "--config", cfg, "--host-root", root)
	again.wantCode(t, 0)
	if j, err := os.ReadFile(filepath.Join(root, "var/lib/ksdoctor/journal.jsonl")); err != nil || !strings.Contains(string(j), "k8s.evicted-pods/delete") {
		t.Errorf("journal: %v\n%s", err, j)
	}
	if !strings.Contains(again.stdout, "nothing to do") {
		t.Errorf("second fix:\n%s", again.stdout)
	}
	r = ksd(t, "sweep", "--kubeconfig", kc, "--config", cfg, "--checks", checks, "--format", "json")
	r.wantCode(t, 0)
}
