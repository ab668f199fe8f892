package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ksdoctor/ksdoctor/checks/checkstest"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

// TestClusterEvictedPods: evicted pods (set through the status subresource)
// are found in one sweep across namespaces, deleted exactly, verified, and a
// second apply changes nothing.
func TestClusterEvictedPods(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	namespaces(t, cs, "ksdt-ev-a", "ksdt-ev-b")
	for _, n := range []string{"web-1", "web-2"} {
		mustPod(t, cs, "ksdt-ev-a", n, kube.PodOptions{NodeName: "ksdt-node-1", Status: kube.EvictedStatus("")})
	}
	mustPod(t, cs, "ksdt-ev-b", "api-1", kube.PodOptions{NodeName: "ksdt-node-2", Status: kube.EvictedStatus("The node was low on resource: memory. ")})
	mustPod(t, cs, "ksdt-ev-b", "running", kube.PodOptions{Status: corev1.PodStatus{Phase: corev1.PodRunning}})
	mustPod(t, cs, "ksdt-ev-b", "job-failed", kube.PodOptions{RestartPolicy: corev1.RestartPolicyNever, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}})

	d := newClusterDoctor(t, c, kube.Admin)
	snap, rep := d.Sweep(ctx, doctor.Progress{})
	if err := snap.SourceError(diag.SourceCluster); err != nil {
		t.Fatalf("cluster source: %v", err)
	}
	if snap.Cluster.ServerVersion != "v1.36.3" {
		t.Errorf("server version %q, want v1.36.3", snap.Cluster.ServerVersion)
	}
	f, ok := finding(rep, "k8s.evicted-pods")
	if !ok {
		t.Fatalf("no k8s.evicted-pods finding; checks %+v", rep.Checks)
	}
	rem, ok := f.Remediation("k8s.evicted-pods/delete")
	if !ok {
		t.Fatal("no delete remediation")
	}
	if got := len(stepsIn(rem, "ksdt-ev-a")) + len(stepsIn(rem, "ksdt-ev-b")); got != 3 {
		t.Fatalf("plan deletes %d of my pods, want 3 (only Evicted, not Failed jobs or running pods): %+v", got, rem.Plan.Steps)
	}
	if !strings.Contains(rem.Preview, "ksdt-ev-a: web-1 web-2") {
		t.Errorf("preview does not list the pods by namespace:\n%s", rem.Preview)
	}

	cand, err := d.Prepare(ctx, "k8s.evicted-pods/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The fix reads only the part of the cluster its check reads: the
	// Failed pods, selected by the server (no running pod, no Ingress).
	if cf := cand.Snapshot.Cluster; !slices.Equal(cf.Areas, []string{diag.ClusterAreaFailedPods}) || cf.PodsSeen != countFailed(t, cs) || cf.Ingresses != nil || cf.Nodes != nil {
		t.Errorf("the fix read areas %v, %d pods, %d ingresses, %d nodes; want only the %d Failed pods", cf.Areas, cf.PodsSeen, len(cf.Ingresses), len(cf.Nodes), countFailed(t, cs))
	}
	res := d.Apply(ctx, cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("apply: error %q verified %v (%s)", res.Error, res.Verified, res.VerifyDetail)
	}
	if res.Count(diag.OutcomeDone) < 3 {
		t.Errorf("deleted %d, want at least 3", res.Count(diag.OutcomeDone))
	}
	left, err := cs.CoreV1().Pods("ksdt-ev-b").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range left.Items {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "job-failed,running" {
		t.Errorf("pods left in ksdt-ev-b: %v, want job-failed,running", names)
	}
	// Applying the same plan again changes nothing: every pod is already gone.
	again := d.Executor.Apply(ctx, cand.Remediation)
	if again.Count(diag.OutcomeNoop) != len(cand.Remediation.Plan.Steps) || again.Error != "" {
		t.Errorf("second apply: %d noop of %d, error %q", again.Count(diag.OutcomeNoop), len(cand.Remediation.Plan.Steps), again.Error)
	}
	if _, err := d.Prepare(ctx, "k8s.evicted-pods/delete", nil); !errors.As(err, new(*doctor.NotNeededError)) {
		t.Errorf("prepare after the fix: %v, want not needed", err)
	}
}

// TestClusterUIDPrecondition: a pod deleted and recreated under the same name
// between preview and apply is not deleted.
func TestClusterUIDPrecondition(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	namespaces(t, cs, "ksdt-uid")
	mustPod(t, cs, "ksdt-uid", "keep-me", kube.PodOptions{Status: kube.EvictedStatus("")})
	mustPod(t, cs, "ksdt-uid", "delete-me", kube.PodOptions{Status: kube.EvictedStatus("")})
	d := newClusterDoctor(t, c, kube.Admin)
	cand, err := d.Prepare(ctx, "k8s.evicted-pods/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stepsIn(cand.Remediation, "ksdt-uid")); n != 2 {
		t.Fatalf("plan has %d steps in ksdt-uid, want 2", n)
	}
	zero := int64(0)
	if err := cs.CoreV1().Pods("ksdt-uid").Delete(ctx, "keep-me", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	recreated := mustPod(t, cs, "ksdt-uid", "keep-me", kube.PodOptions{Status: kube.EvictedStatus("")})

	res := d.Executor.Apply(ctx, cand.Remediation)
	for _, s := range res.Steps {
		if s.Step.Pod.Namespace != "ksdt-uid" {
			continue
		}
		want := diag.OutcomeDone
		if s.Step.Pod.Name == "keep-me" {
			want = diag.OutcomeSkipped
		}
		if s.Outcome != want {
			t.Errorf("%s: outcome %s (%s), want %s", s.Step.Pod.Name, s.Outcome, s.Detail, want)
		}
	}
	p, err := cs.CoreV1().Pods("ksdt-uid").Get(ctx, "keep-me", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the recreated pod was deleted: %v", err)
	}
	if p.UID != recreated.UID {
		t.Errorf("keep-me has UID %s, want the recreated %s", p.UID, recreated.UID)
	}
}

// TestClusterCrashLoop: CrashLoopBackOff containers are reported; the
// restart remediation deletes only pods with a controller and says it rarely
// cures the cause.
func TestClusterCrashLoop(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	namespaces(t, cs, "ksdt-crash")
	yes := true
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "0d7c6b9e-0000-4000-8000-000000000001", Controller: &yes}}
	mustPod(t, cs, "ksdt-crash", "web-5d8f-x1", kube.PodOptions{OwnerReferences: owner, Status: kube.CrashLoopStatus("main", 7, 137)})
	mustPod(t, cs, "ksdt-crash", "bare", kube.PodOptions{Status: kube.CrashLoopStatus("main", 3, 1)})
	mustPod(t, cs, "ksdt-crash", "healthy", kube.PodOptions{OwnerReferences: owner, Status: corev1.PodStatus{Phase: corev1.PodRunning}})

	d := newClusterDoctor(t, c, kube.Admin)
	_, rep := d.Sweep(ctx, doctor.Progress{})
	f, ok := finding(rep, "k8s.crashloop-pods")
	if !ok {
		t.Fatalf("no crashloop finding: %+v", rep.Checks)
	}
	ev := checkstest.EvidenceText(f)
	for _, want := range []string{"web-5d8f-x1", "bare", "ReplicaSet/web-5d8f", "exit 137", "7"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	if strings.Contains(ev, "healthy") {
		t.Errorf("evidence names the healthy pod")
	}
	rem, ok := f.Remediation("k8s.crashloop-pods/restart")
	if !ok {
		t.Fatal("no restart remediation")
	}
	steps := stepsIn(rem, "ksdt-crash")
	if len(steps) != 1 || steps[0].Name != "web-5d8f-x1" {
		t.Fatalf("restart plan %+v, want only web-5d8f-x1 (bare pods are not offered)", steps)
	}
	if !strings.Contains(rem.Preview, "rarely cures") {
		t.Errorf("preview does not warn that this rarely cures the cause:\n%s", rem.Preview)
	}
	res := d.Executor.Apply(ctx, rem)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if _, err := cs.CoreV1().Pods("ksdt-crash").Get(ctx, "bare", metav1.GetOptions{}); err != nil {
		t.Errorf("bare pod: %v", err)
	}
	if _, err := cs.CoreV1().Pods("ksdt-crash").Get(ctx, "web-5d8f-x1", metav1.GetOptions{}); err == nil {
		t.Errorf("owned crash-looping pod still exists")
	}
}

// TestClusterIngressTLS: certificates generated here: covering, not covering
// (the seed's two-host case), wildcard, expired, expiring, missing secret,
// shared secret, two Ingresses for one host (oldest wins), an Opaque secret.
func TestClusterIngressTLS(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	ns := "ksdt-tls"
	namespaces(t, cs, ns)
	now := time.Now()
	valid := func(names ...string) (crt, key []byte) {
		return checkstest.CertPEM(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), names...)
	}
	var keys [][]byte
	secret := func(name string, typ corev1.SecretType, crt, key []byte) {
		keys = append(keys, key)
		_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Type:       typ,
			Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	crt, key := valid("a.ksdt.test")
	secret("good", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("*.wild.ksdt.test")
	secret("wild", corev1.SecretTypeTLS, crt, key)
	crt, key = checkstest.CertPEM(t, now.Add(-60*24*time.Hour), now.Add(-24*time.Hour), "exp.ksdt.test")
	secret("expired", corev1.SecretTypeTLS, crt, key)
	crt, key = checkstest.CertPEM(t, now.Add(-60*24*time.Hour), now.Add(5*24*time.Hour), "soon.ksdt.test")
	secret("soon", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("one.ksdt.test")
	secret("pair", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("s1.ksdt.test", "s2.ksdt.test")
	secret("shared", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("c.ksdt.test")
	secret("c-old", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("c.ksdt.test")
	secret("c-new", corev1.SecretTypeTLS, crt, key)
	crt, key = valid("op.ksdt.test")
	secret("opaque", corev1.SecretTypeOpaque, crt, key)

	// The controller that serves them: ingress-nginx 1.x watching Ingresses
	// without a class (a Deployment; no pods run without a controller manager).
	nginxController(t, cs, "ksdt-tls-nginx", "--watch-ingress-without-class=true")
	ingress := func(name string, tls ...networkingv1.IngressTLS) {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressSpec{TLS: tls}}
		for _, t := range tls {
			for _, h := range t.Hosts {
				ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
			}
		}
		if _, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.NetworkingV1().Ingresses(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	tls := func(secret string, hosts ...string) networkingv1.IngressTLS {
		return networkingv1.IngressTLS{SecretName: secret, Hosts: hosts}
	}
	ingress("c-oldest", tls("c-old", "c.ksdt.test"))
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	ingress("c-newer", tls("c-new", "c.ksdt.test"))
	ingress("good", tls("good", "a.ksdt.test"))
	ingress("wild", tls("wild", "x.wild.ksdt.test"))
	ingress("expired", tls("expired", "exp.ksdt.test"))
	ingress("soon", tls("soon", "soon.ksdt.test"))
	ingress("seed", tls("pair", "one.ksdt.test", "two.ksdt.test"))
	ingress("missing", tls("nope", "missing.ksdt.test"))
	ingress("shared-1", tls("shared", "s1.ksdt.test"))
	ingress("shared-2", tls("shared", "s2.ksdt.test"))
	ingress("opaque", tls("opaque", "op.ksdt.test"))

	d := newClusterDoctor(t, c, kube.Admin)
	snap, rep := d.Sweep(ctx, doctor.Progress{})
	want := map[string]diag.Severity{
		"k8s.ingress-tls/exp.ksdt.test":     diag.Critical,
		"k8s.ingress-tls/two.ksdt.test":     diag.Critical,
		"k8s.ingress-tls/missing.ksdt.test": diag.Critical,
		"k8s.ingress-tls/soon.ksdt.test":    diag.Warning,
		"k8s.ingress-tls/c.ksdt.test":       diag.Warning,
		"k8s.ingress-tls/op.ksdt.test":      diag.Warning,
	}
	got := map[string]diag.Severity{}
	for _, f := range rep.Findings {
		if f.Check == "k8s.ingress-tls" && strings.HasSuffix(f.ID, ".ksdt.test") {
			got[f.ID] = f.Severity
		}
	}
	for id, sev := range want {
		if got[id] != sev {
			t.Errorf("%s: severity %q, want %q", id, got[id], sev)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected finding %s (%s)", id, got[id])
		}
	}
	if f, ok := finding(rep, "k8s.ingress-tls/two.ksdt.test"); ok {
		if !strings.Contains(f.Title, "fake certificate") || !strings.Contains(checkstest.EvidenceText(f), "does not cover two.ksdt.test") {
			t.Errorf("seed case not explained: %s\n%s", f.Title, checkstest.EvidenceText(f))
		}
	}
	if f, ok := finding(rep, "k8s.ingress-tls/c.ksdt.test"); ok {
		if !strings.Contains(f.Summary, "c-old") || !strings.Contains(f.Summary, "ksdt-tls/c-oldest") {
			t.Errorf("oldest Ingress should win: %s", f.Summary)
		}
	}
	// No private key reaches the snapshot or any report format.
	sj, _ := json.Marshal(snap)
	outputs := map[string][]byte{"snapshot": sj}
	for _, format := range []report.Format{report.FormatJSON, report.FormatText, report.FormatMarkdown} {
		var b bytes.Buffer
		if err := report.Write(&b, rep, format, report.Options{}); err != nil {
			t.Fatal(err)
		}
		outputs[string(format)] = b.Bytes()
	}
	for name, out := range outputs {
		if bytes.Contains(out, []byte("PRIVATE KEY")) {
			t.Errorf("%s contains a private key", name)
		}
		for _, k := range keys {
			body := strings.Join(strings.Split(string(k), "\n")[1:3], "")
			if bytes.Contains(out, []byte(body[:40])) {
				t.Errorf("%s contains private key material", name)
			}
		}
	}
}

// TestClusterJenkinsCasc: a jenkins-casc-config changed after the running
// devops-jenkins pod started; the restart remediation patches restartedAt
// once; without KubeSphere DevOps the check is skipped.
func TestClusterJenkinsCasc(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	d := newClusterDoctor(t, c, kube.Admin)
	if _, err := cs.AppsV1().Deployments("kubesphere-devops-system").Get(ctx, "devops-jenkins", metav1.GetOptions{}); err != nil {
		_, rep := d.Sweep(ctx, doctor.Progress{})
		if st := checkStatus(rep, "devops.jenkins-casc-stale"); st.Status != diag.StatusSkipped || !strings.Contains(st.Reason, "not installed") {
			t.Errorf("without KubeSphere DevOps: %s %q, want skipped: not installed", st.Status, st.Reason)
		}
	}
	ns := "kubesphere-devops-system"
	namespaces(t, cs, ns)
	labels := map[string]string{"app": "jenkins", "component": "devops-jenkins-master"}
	replicas := int32(1)
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "devops-jenkins"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "devops-jenkins", Image: "kubesphere/ks-jenkins:v3.4.0-2.319.3-1"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cs.AppsV1().Deployments(ns).Delete(ctx, "devops-jenkins", metav1.DeleteOptions{})
		_ = cs.CoreV1().ConfigMaps(ns).Delete(ctx, "jenkins-casc-config", metav1.DeleteOptions{})
	})
	started := metav1.NewTime(time.Now().Add(-2 * time.Hour))
	mustPod(t, cs, ns, "devops-jenkins-7d9c-abcde", kube.PodOptions{
		Labels: labels, Image: "kubesphere/ks-jenkins:v3.4.0-2.319.3-1",
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started},
	})
	casc := `jenkins:
  clouds:
    - kubernetes:
        templates:
          - name: "base"
            containers:
              - name: "base"
                image: "kubesphere/builder-base:v3.2.2"
              - name: "jnlp"
                image: 'jenkins/inbound-agent:4.10-2'
          - name: "maven"
            containers:
              - name: "maven"
                image: kubesphere/builder-maven:v3.2.1-jdk11 # upgraded
`
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "jenkins-casc-config"},
		Data:       map[string]string{"jenkins_user.yaml": casc},
	}, metav1.CreateOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	snap, rep := d.Sweep(ctx, doctor.Progress{})
	f, ok := finding(rep, "devops.jenkins-casc-stale")
	if !ok {
		t.Fatalf("no jenkins finding: %+v", checkStatus(rep, "devops.jenkins-casc-stale"))
	}
	if f.Severity != diag.Warning {
		t.Errorf("severity %s, want warning", f.Severity)
	}
	ev := checkstest.EvidenceText(f)
	for _, want := range []string{"kubesphere/builder-base:v3.2.2", "jenkins/inbound-agent:4.10-2", "kubesphere/builder-maven:v3.2.1-jdk11", "kubesphere/ks-jenkins:v3.4.0-2.319.3-1", "kubectl-edit"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	if snap.Cluster.Jenkins.ConfigChangedAt.Before(started.Time) {
		t.Errorf("config change time %s precedes the pod start %s", snap.Cluster.Jenkins.ConfigChangedAt, started)
	}
	cand, err := d.Prepare(ctx, "devops.jenkins-casc-stale/restart", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := d.Apply(ctx, cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("restart: error %q verified %v: %s", res.Error, res.Verified, res.VerifyDetail)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "devops-jenkins", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stamp := dep.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	if stamp == "" || stamp != cand.Remediation.Plan.Steps[0].Workload.RestartedAt {
		t.Errorf("restartedAt %q, want %q", stamp, cand.Remediation.Plan.Steps[0].Workload.RestartedAt)
	}
	gen := dep.Generation
	again := d.Executor.Apply(ctx, cand.Remediation)
	if again.Count(diag.OutcomeNoop) != 1 {
		t.Errorf("second apply: %+v, want noop", again.Steps)
	}
	if dep2, _ := cs.AppsV1().Deployments(ns).Get(ctx, "devops-jenkins", metav1.GetOptions{}); dep2.Generation != gen {
		t.Errorf("second apply changed the deployment (generation %d → %d)", gen, dep2.Generation)
	}
	if _, err := d.Prepare(ctx, "devops.jenkins-casc-stale/restart", nil); !errors.As(err, new(*doctor.NotNeededError)) {
		t.Errorf("prepare after restart: %v, want not needed", err)
	}
}

// TestClusterNodeConditions: the swept node (named after this host) under
// DiskPressure and another node NotReady.
func TestClusterNodeConditions(t *testing.T) {
	c := realCluster(t)
	cs := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	node := func(name string, conds ...corev1.NodeCondition) {
		n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		n.Status.Conditions = conds
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	since := metav1.NewTime(time.Now().Add(-30 * time.Minute))
	cond := func(typ corev1.NodeConditionType, st corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: st, Reason: reason, LastTransitionTime: since, LastHeartbeatTime: since}
	}
	node(host, cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"), cond(corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure"))
	node("ksdt-node-down", cond(corev1.NodeReady, corev1.ConditionUnknown, "NodeStatusUnknown"))
	node("ksdt-node-ok", cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"), cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"))

	d := newClusterDoctor(t, c, kube.Admin)
	snap, rep := d.Sweep(ctx, doctor.Progress{})
	if snap.Cluster.NodeName != host {
		t.Errorf("swept node %q, want %q", snap.Cluster.NodeName, host)
	}
	want := map[string]diag.Severity{"k8s.node-conditions/" + host: diag.Warning, "k8s.node-conditions/ksdt-node-down": diag.Critical}
	for id, sev := range want {
		f, ok := finding(rep, id)
		if !ok || f.Severity != sev {
			t.Errorf("%s: found %v severity %s, want %s", id, ok, f.Severity, sev)
		}
	}
	if _, ok := finding(rep, "k8s.node-conditions/ksdt-node-ok"); ok {
		t.Errorf("healthy node reported")
	}
	if f, _ := finding(rep, "k8s.node-conditions/"+host); !strings.Contains(f.Title, "This node") {
		t.Errorf("title %q does not say it is this node", f.Title)
	}
}

// TestClusterReadOnlyIdentity: under deploy/rbac/reader.yaml a sweep works;
// a fix fails naming the missing permission; with fixer.yaml it works.
func TestClusterReadOnlyIdentity(t *testing.T) {
	c := realCluster(t)
	admin := c.Clientset(t, kube.Admin)
	ctx := testCtx(t)
	namespaces(t, admin, "ksdt-ro")
	mustPod(t, admin, "ksdt-ro", "evicted-1", kube.PodOptions{Status: kube.EvictedStatus("")})
	applyClusterRole(t, admin, "../deploy/rbac/reader.yaml", kube.Reader)
	reader := c.Clientset(t, kube.Reader)
	waitAllowed(t, reader)

	d := newClusterDoctor(t, c, kube.Reader)
	snap, rep := d.Sweep(ctx, doctor.Progress{})
	if err := snap.SourceError(diag.SourceCluster); err != nil {
		t.Fatalf("read-only sweep: %v", err)
	}
	if len(snap.Cluster.Partial) > 0 {
		t.Errorf("read-only sweep could not read: %v", snap.Cluster.Partial)
	}
	for _, cr := range rep.Checks {
		if cr.Status == diag.StatusError {
			t.Errorf("%s: error %s", cr.ID, cr.Error)
		}
	}
	cand, err := d.Prepare(ctx, "k8s.evicted-pods/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := d.Apply(ctx, cand)
	if res.Count(diag.OutcomeDone) != 0 || res.Error == "" {
		t.Fatalf("fix under the read-only identity: %d done, error %q", res.Count(diag.OutcomeDone), res.Error)
	}
	for _, want := range []string{`verb "delete"`, `resource "pods"`, `namespace "`, "forbidden"} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("error does not name the missing permission (%s): %s", want, res.Error)
		}
	}
	if _, err := admin.CoreV1().Pods("ksdt-ro").Get(ctx, "evicted-1", metav1.GetOptions{}); err != nil {
		t.Errorf("pod deleted under the read-only identity: %v", err)
	}

	applyClusterRole(t, admin, "../deploy/rbac/fixer.yaml", kube.Reader)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res = d.Executor.Apply(ctx, cand.Remediation)
		if res.Error == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res.Error != "" {
		t.Fatalf("fix with ksdoctor-fixer: %s", res.Error)
	}
}

// waitAllowed waits until RBAC lets cs list pods (bindings take effect
// through the authorizer's informers).
func waitAllowed(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{Limit: 1})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RBAC binding not effective: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
