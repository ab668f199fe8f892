package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/fleet/fleettest"
	"github.com/ksdoctor/ksdoctor/kubeapi"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// countingTransport counts the command's API requests by kind.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int // "WATCH pods", "POST jobs", …
	all  int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	verb := r.Method
	if r.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	res := parts[len(parts)-1]
	if len(parts) >= 2 && (parts[len(parts)-2] == "pods" || parts[len(parts)-2] == "jobs") && r.Method != http.MethodPost && verb != "WATCH" {
		res = parts[len(parts)-2] + "/name"
	}
	if len(parts) >= 3 && parts[len(parts)-1] == "log" {
		res = "pods/log"
	}
	c.mu.Lock()
	c.n[verb+" "+res]++
	c.all++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// fleetRun runs `ksdoctor sweep --all-nodes …` in this process (so the
// stand-in log reader and the request counter can be hooked in) and returns
// stdout, stderr, the exit code and the request counts.
func fleetRun(t testing.TB, ctx context.Context, logs fleet.LogReader, args ...string) (string, string, int, *countingTransport) {
	t.Helper()
	ct := &countingTransport{n: map[string]int{}}
	fleetHooks.wrap = func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct }
	fleetHooks.logs = func(*kubeapi.Clientset) fleet.LogReader { return logs }
	defer func() { fleetHooks.wrap, fleetHooks.logs = nil, nil }()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"sweep", "--all-nodes"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code, ct
}

// applyFleetDeploy creates deploy/fleet (namespace, Role, ClusterRole) and
// deploy/rbac/reader.yaml, and binds them to user.
func applyFleetDeploy(t testing.TB, ctx context.Context, cs kubernetes.Interface, user string) {
	t.Helper()
	var ns corev1.Namespace
	readYAML(t, "../../deploy/fleet/namespace.yaml", 0, &ns)
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace.yaml: PodSecurity enforce label %q", ns.Labels["pod-security.kubernetes.io/enforce"])
	}
	var role rbacv1.Role
	var crole, reader rbacv1.ClusterRole
	readYAML(t, "../../deploy/fleet/rbac.yaml", 0, &role)
	readYAML(t, "../../deploy/fleet/rbac.yaml", 1, &crole)
	readYAML(t, "../../deploy/rbac/reader.yaml", 0, &reader)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}))
	must(cs.RbacV1().Roles(ns.Name).Create(ctx, &role, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoles().Create(ctx, &crole, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoles().Create(ctx, &reader, metav1.CreateOptions{}))
	subj := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}
	must(cs.RbacV1().RoleBindings(ns.Name).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, Subjects: subj}, metav1.CreateOptions{}))
	for _, cr := range []string{crole.Name, reader.Name} {
		if err := kube.GrantClusterRole(ctx, cs, user, cr); err != nil {
			t.Fatal(err)
		}
	}
}

// readYAML decodes document i of a multi-document YAML file, strictly.
func readYAML(t testing.TB, path string, i int, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if err := yaml.UnmarshalStrict([]byte(docs[i]), into); err != nil {
		t.Fatalf("%s document %d: %v", path, i, err)
	}
}

func createNodes(t testing.TB, ctx context.Context, cs kubernetes.Interface, names []string, taints map[string][]corev1.Taint) {
	t.Helper()
	for _, n := range names {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"ksdt/fleet": "yes"}}, Spec: corev1.NodeSpec{Taints: taints[n]}}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// leftBehind lists the Jobs and pods ksdoctor created that still exist.
func leftBehind(t testing.TB, ctx context.Context, cs kubernetes.Interface) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: fleet.LabelManagedBy + "=" + fleet.ManagedBy}
	var left []string
	jobs, err := cs.BatchV1().Jobs("ksdoctor").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		left = append(left, "job/"+j.Name)
	}
	pods, err := cs.CoreV1().Pods("ksdoctor").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		left = append(left, "pod/"+p.Name)
	}
	return left
}

// localNodeReport is the real binary's JSON report of a local sweep of a
// testbed node (a real dockerd in its own network namespace).
func localNodeReport(t *testing.T) []byte {
	t.Helper()
	d := testbed.StartDockerd(t, testbed.DockerdOptions{})
	r := ksdNS(t, d.Netns, "sweep", "--format", "json", "--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile)
	if err := schemacheck.ValidateJSON([]byte(r.stdout)); err != nil {
		t.Fatalf("local sweep (exit %d): %v\n%s", r.code, err, r.stderr)
	}
	return []byte(r.stdout)
}

// TestFleetSweep runs `sweep --all-nodes` on the real kube-apiserver as an
// identity holding only deploy/fleet's and deploy/rbac/reader.yaml's
// rights. What is NOT real here, said plainly: the apiserver runs no Job
// controller and no kubelet, so fleettest.StandIn creates each Job's pod
// as the Job controller would and writes the status a kubelet would (or
// none, for a node without one); and pods/log cannot be served without a
// kubelet, so the command's LogReader is fed the real binary's report of a
// local sweep of a testbed node (real dockerd in a netns) for the nodes
// that "succeed", and a Go panic for the node whose report is not JSON.
func TestFleetSweep(t *testing.T) {
	c := kube.Start(t)
	admin := c.Clientset(t, kube.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	applyFleetDeploy(t, ctx, admin, kube.Reader)
	kc := c.WriteKubeconfig(t, kube.Reader)
	nodeReport := localNodeReport(t)

	taint := []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}, {Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoExecute}}
	names := []string{"ksdt-ok-1", "ksdt-ok-2", "ksdt-nokubelet-1", "ksdt-noimage-1", "ksdt-notjson-1", "ksdt-fails-1"}
	createNodes(t, ctx, admin, names, map[string][]corev1.Taint{"ksdt-ok-2": taint})
	behave := func(node string) fleettest.Kubelet {
		switch {
		case strings.HasPrefix(node, "ksdt-ok-"), strings.HasPrefix(node, "ksdt-notjson-"):
			return fleettest.Succeeds
		case strings.HasPrefix(node, "ksdt-noimage-"):
			return fleettest.ImageMissing
		case strings.HasPrefix(node, "ksdt-fails-"):
			return fleettest.Fails
		}
		return fleettest.NoKubelet
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	standIn, err := fleettest.StartStandIn(sctx, admin, "ksdoctor", behave)
	if err != nil {
		t.Fatal(err)
	}
	logs := fleettest.Logs{CS: admin, ByNode: func(node string) []byte {
		if strings.HasPrefix(node, "ksdt-notjson-") {
			return []byte("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV]\n")
		}
		// The container log interleaves stderr: a note before the report.
		return append([]byte("ksdoctor: note: sweeping through /host\n"), nodeReport...)
	}}

	const timeout = 5 * time.Second
	start := time.Now()
	out, stderr, code, ct := fleetRun(t, ctx, logs, "--kubeconfig", kc, "--context", kube.ContextName, "--nodes", strings.Join(names, ","),
		"--node-timeout", timeout.String(), "--image", "ksdoctor:test", "--format", "json")
	took := time.Since(start)
	if err := standIn.Err(); err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.ValidateFleetJSON([]byte(out)); err != nil {
		t.Fatalf("fleet JSON (exit %d, stderr %s): %v\n%s", code, stderr, err, out)
	}
	var rep fleet.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if code != rep.Summary.ExitCode {
		t.Errorf("exit %d, report says %d", code, rep.Summary.ExitCode)
	}
	var local struct {
		Summary struct{ Critical int } `json:"summary"`
	}
	_ = json.Unmarshal(nodeReport, &local)
	if want := map[bool]int{true: 2, false: 5}[local.Summary.Critical > 0]; code != want {
		t.Errorf("exit %d, want %d (worst of the two real reports and four missing nodes)", code, want)
	}
	if rep.Cluster == nil || len(rep.Cluster.Checks) == 0 {
		t.Errorf("no cluster checks in the fleet report")
	}
	want := map[string]string{"ksdt-nokubelet-1": fleet.ReasonNoKubelet, "ksdt-noimage-1": fleet.ReasonImageMissing, "ksdt-notjson-1": fleet.ReasonNotJSON, "ksdt-fails-1": fleet.ReasonFailed}
	for _, n := range rep.Nodes {
		switch {
		case strings.HasPrefix(n.Name, "ksdt-ok-"):
			if !n.Answered || n.Report == nil {
				t.Errorf("%s did not answer: %s: %s", n.Name, n.Reason, n.Detail)
			}
		case n.Answered || n.Reason != want[n.Name]:
			t.Errorf("%s: answered %v reason %q (%s), want %q", n.Name, n.Answered, n.Reason, n.Detail, want[n.Name])
		}
		if n.DurationMs > (timeout + 2*time.Second).Milliseconds() {
			t.Errorf("%s: gave up after %d ms, --node-timeout %s", n.Name, n.DurationMs, timeout)
		}
	}
	for _, n := range rep.Nodes {
		if n.Name == "ksdt-noimage-1" && !strings.Contains(n.Detail, "not found") {
			t.Errorf("image missing: detail lacks the kubelet's event: %s", n.Detail)
		}
		if n.Name == "ksdt-nokubelet-1" && !strings.Contains(n.Detail, "never picked it up") {
			t.Errorf("no kubelet: detail %s", n.Detail)
		}
	}
	if took > timeout+20*time.Second {
		t.Errorf("the sweep took %s with --node-timeout %s", took, timeout)
	}
	// One watch on the pods, never a poll per node.
	if n := ct.get("WATCH pods"); n != 1 {
		t.Errorf("%d pod watches, want 1; requests %v", n, ct.n)
	}
	if n := ct.get("GET pods/name"); n != 0 {
		t.Errorf("%d GETs of single pods (a poll); requests %v", n, ct.n)
	}
	t.Logf("requests: %d for %d nodes: %v", ct.all, len(names), ct.n)
	// Every field of every Job, as the API stored it.
	jobs := standIn.Jobs()
	if len(jobs) != len(names) {
		t.Fatalf("%d Jobs, want %d", len(jobs), len(names))
	}
	for _, j := range jobs {
		node := j.Spec.Template.Spec.NodeName
		var taints []corev1.Taint
		if node == "ksdt-ok-2" {
			taints = taint
		}
		if msg := fleettest.CheckJob(&j, rep.SweepID, node, taints, int64(timeout.Seconds())); msg != "" {
			t.Errorf("Job %s: %s", j.Name, msg)
		}
	}
	if left := leftBehind(t, ctx, admin); len(left) > 0 {
		t.Errorf("left behind after the sweep: %v", left)
	}

	t.Run("text and markdown group by check", func(t *testing.T) {
		for _, f := range []string{"text", "markdown"} {
			var b bytes.Buffer
			if err := fleet.Write(&b, &rep, f); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "no kubelet") || !strings.Contains(b.String(), "of 2 nodes") {
				t.Errorf("%s:\n%s", f, b.String())
			}
		}
	})

	t.Run("bad job template refused before anything is created", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "job.yaml")
		os.WriteFile(bad, []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: Always\n"), 0o600)
		_, stderr, code, ct := fleetRun(t, ctx, logs, "--kubeconfig", kc, "--job-template", bad)
		if code != exitCannot || !strings.Contains(stderr, "restartPolicy") || ct.all != 0 {
			t.Errorf("exit %d, %d requests, stderr %s", code, ct.all, stderr)
		}
	})

	t.Run("ctrl+c leaves nothing behind", func(t *testing.T) {
		rctx, interrupt := context.WithCancel(ctx)
		defer interrupt()
		drain(standIn.Seen())
		go func() {
			for range names {
				<-standIn.Seen()
			}
			interrupt() // as signal.NotifyContext does on SIGINT
		}()
		_, stderr, code, _ := fleetRun(t, rctx, logs, "--kubeconfig", kc, "--nodes", strings.Join(names, ","), "--node-timeout", "2m")
		if code != exitCannot || !strings.Contains(stderr, "canceled") {
			t.Errorf("interrupted sweep: exit %d, stderr %s", code, stderr)
		}
		if left := leftBehind(t, ctx, admin); len(left) > 0 {
			t.Errorf("left behind after ctrl+c: %v", left)
		}
	})

	t.Run("a removed verb is named", func(t *testing.T) {
		role, err := admin.RbacV1().Roles("ksdoctor").Get(ctx, "ksdoctor-fleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		orig := role.DeepCopy()
		role.Rules[0].Verbs = []string{"get", "list", "watch", "delete"} // no create on jobs
		if _, err := admin.RbacV1().Roles("ksdoctor").Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cur, _ := admin.RbacV1().Roles("ksdoctor").Get(ctx, "ksdoctor-fleet", metav1.GetOptions{})
			orig.ResourceVersion = cur.ResourceVersion
			if _, err := admin.RbacV1().Roles("ksdoctor").Update(ctx, orig, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}()
		// RBAC changes reach the authorizer through its informer: wait for it.
		var stderr string
		var code int
		for i := 0; i < 20; i++ {
			_, stderr, code, _ = fleetRun(t, ctx, logs, "--kubeconfig", kc, "--nodes", "ksdt-ok-1", "--node-timeout", "5s")
			if code == exitCannot {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if code != exitCannot || !strings.Contains(stderr, `cannot create resource "jobs"`) {
			t.Errorf("without create on jobs: exit %d, stderr %s", code, stderr)
		}
		if left := leftBehind(t, ctx, admin); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	stop()
	standIn.Wait()
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
