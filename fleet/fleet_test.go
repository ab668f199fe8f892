package fleet_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/fleet"
	"github.com/ksdoctor/ksdoctor/fleet/fleettest"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

// replay is a real node report: the checks run on a recorded fixture snapshot.
func replay(t *testing.T, fixture string) *diag.Report {
	t.Helper()
	snap, err := load.Snapshot(filepath.Join("..", "fixtures", fixture, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := diag.Run(checks.All(), snap, diag.DefaultConfig(), diag.RunOptions{})
	// Round-trip through the JSON the pod would print, validated as the sweep does.
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.ValidateJSON(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	var out diag.Report
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestMergeAndRender: per check across nodes, missing nodes with their
// reason, the exit code, the JSON against docs/fleet.schema.json, text and
// Markdown grouped by check then node, secrets masked.
func TestMergeAndRender(t *testing.T) {
	seed := replay(t, "net-seed-incident")
	healthy := replay(t, "healthy")
	r := &fleet.Report{SchemaVersion: 1, Kind: "fleet", Tool: diag.Tool{Name: "ksdoctor", Version: "test"}, SweepID: "abc123", Namespace: "ksdoctor", Cluster: replay(t, "cluster-node-pressure"),
		Nodes: []fleet.Node{
			{Name: "node-a", Answered: true, Report: seed},
			{Name: "node-b", Answered: true, Report: seed},
			{Name: "node-c", Answered: true, Report: healthy},
			{Name: "node-d", Reason: fleet.ReasonNoKubelet, Detail: "pod stayed Pending; token=s3cr3tvalue123"},
		}}
	fleet.Merge(r)
	if r.Summary.Answered != 3 || r.Summary.Missing != 1 || r.Summary.Nodes != 4 {
		t.Errorf("summary %+v", r.Summary)
	}
	if len(seed.Findings) == 0 {
		t.Fatal("seed fixture has no findings")
	}
	f := seed.Findings[0]
	var found *fleet.CheckAcross
	for i := range r.Checks {
		if r.Checks[i].Check == f.Check {
			found = &r.Checks[i]
		}
	}
	if found == nil || found.Count != 2 || found.Of != 3 {
		t.Fatalf("check %s across nodes: %+v", f.Check, found)
	}
	var j, txt, md bytes.Buffer
	for _, w := range []struct {
		b      *bytes.Buffer
		format string
	}{{&j, "json"}, {&txt, "text"}, {&md, "markdown"}} {
		if err := fleet.Write(w.b, r, w.format); err != nil {
			t.Fatal(err)
		}
	}
	if err := schemacheck.ValidateFleetJSON(j.Bytes()); err != nil {
		t.Fatalf("fleet JSON: %v\n%s", err, j.String())
	}
	line := f.Check + ": 2 of 3 nodes: node-a, node-b"
	for name, out := range map[string]string{"json": j.String(), "text": txt.String(), "markdown": md.String()} {
		if strings.Contains(out, "s3cr3tvalue123") {
			t.Errorf("%s leaks the secret", name)
		}
	}
	if !strings.Contains(txt.String(), line) || !strings.Contains(txt.String(), "node-d: no kubelet") {
		t.Errorf("text report:\n%s", txt.String())
	}
	if !strings.Contains(md.String(), "`"+f.Check+"`: 2 of 3 nodes") || !strings.Contains(md.String(), "| node-d | no kubelet |") {
		t.Errorf("markdown report:\n%s", md.String())
	}
	// Worst finding over the nodes and the cluster; a missing node counts as
	// "could not judge"; none answered is 3.
	if want := worstOf(seed, healthy, r.Cluster); r.Summary.ExitCode != want {
		t.Errorf("exit %d, want %d", r.Summary.ExitCode, want)
	}
	none := &fleet.Report{SchemaVersion: 1, Kind: "fleet", SweepID: "x", Namespace: "ksdoctor", Nodes: []fleet.Node{{Name: "n", Reason: fleet.ReasonNoPod, Detail: "d"}}}
	fleet.Merge(none)
	if none.Summary.ExitCode != 3 {
		t.Errorf("no node answered: exit %d, want 3", none.Summary.ExitCode)
	}
}

func worstOf(rs ...*diag.Report) int {
	code := 5 // the node that did not answer
	for _, r := range rs {
		if r.Summary.Worst() == diag.Critical {
			return 2
		}
	}
	return code
}

// TestBuildJob: every field the sweep relies on, in the Job it sends.
func TestBuildJob(t *testing.T) {
	node := &corev1.Node{}
	node.Name = "n1"
	node.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}, {Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute}}
	job, err := fleet.BuildJob(fleet.JobSpec{Namespace: "ksdoctor", SweepID: "abc", Image: "ksdoctor:test", DeadlineSeconds: 120}, node)
	if err != nil {
		t.Fatal(err)
	}
	if msg := fleettest.CheckJob(job, "abc", "n1", node.Spec.Taints, 120); msg != "" {
		t.Error(msg)
	}
}

func TestTemplate(t *testing.T) {
	good := `apiVersion: batch/v1
kind: Job
spec:
  template:
    metadata:
      labels: {team: infra}
    spec:
      imagePullSecrets: [{name: regcred}]
      nodeSelector: {kubernetes.io/os: linux}
      containers:
      - name: ksdoctor
        image: registry.example/ksdoctor:1
`
	tm, err := fleet.ParseTemplate([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{}
	node.Name = "n1"
	job, err := fleet.BuildJob(fleet.JobSpec{Namespace: "ksdoctor", SweepID: "abc", Image: "ksdoctor:test", DeadlineSeconds: 60, Template: tm}, node)
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	if c.Image != "registry.example/ksdoctor:1" || len(c.Args) == 0 || len(c.VolumeMounts) != 1 || spec.ImagePullSecrets[0].Name != "regcred" || spec.NodeName != "n1" || job.Spec.Template.Labels["team"] != "infra" {
		t.Errorf("merged spec: %+v", spec)
	}
	if msg := fleettest.CheckJob(job, "abc", "n1", nil, 60); msg != "" && !strings.Contains(msg, "image") {
		t.Error(msg)
	}
	for name, bad := range map[string]string{
		"kind":          "apiVersion: v1\nkind: Pod\n",
		"unknown field": "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      hostPIDD: true\n",
		"restart":       "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: Always\n",
		"nodeName":      "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      nodeName: x\n",
		"not yaml":      "{{{",
	} {
		if _, err := fleet.ParseTemplate([]byte(bad)); err == nil {
			t.Errorf("%s: template accepted", name)
		}
	}
}

// TestWriteEscapesNodeData: a node name and messages holding escape
// sequences are printed visibly by text and Markdown (a terminal would act
// on them), and kept exact, JSON-escaped, in JSON.
func TestWriteEscapesNodeData(t *testing.T) {
	const name = "evil\x1b]2;pwned\x07\x1b[2J"
	r := &fleet.Report{SchemaVersion: 1, Kind: "fleet", SweepID: "x", Namespace: "ksdoctor",
		Nodes: []fleet.Node{{Name: name, Reason: fleet.ReasonFailed, Detail: "exit 1\x1b[31m\u202e"}}}
	fleet.Merge(r)
	for _, format := range []string{"text", "markdown", "json"} {
		var b bytes.Buffer
		if err := fleet.Write(&b, r, format); err != nil {
			t.Fatal(err)
		}
		raw := "\x1b\x07\u202e"
		if format == "json" {
			raw = "\x1b\x07" // encoding/json escapes C0 controls, not bidi ones
		}
		if strings.ContainsAny(b.String(), raw) {
			t.Errorf("%s holds a raw control character:\n%q", format, b.String())
		}
		if format != "json" && !strings.Contains(b.String(), `evil\x1b]2;pwned\x07\x1b[2J`) {
			t.Errorf("%s does not show the name escaped:\n%s", format, b.String())
		}
	}
}
