package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/load"
)

// complete runs cobra's hidden __complete command, as the shell scripts
// of 'ksdoctor completion bash|zsh|fish' do, and returns the candidates
// (without descriptions) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := inproc(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %v: code %d: %s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		out = append(out, strings.SplitN(l, "\t", 2)[0])
	}
	return out, lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	var checkIDs []string
	for _, c := range checks.All() {
		checkIDs = append(checkIDs, c.ID)
	}
	got, dir := complete(t, "explain", "")
	if !slices.Equal(got, checkIDs) || dir != ":4" { // 4: ShellCompDirectiveNoFileComp
		t.Errorf("explain: %v %s", got, dir)
	}
	got, _ = complete(t, "explain", "net.ip-")
	if !slices.Equal(got, []string{"net.ip-forward-disabled"}) {
		t.Errorf("explain net.ip-: %v", got)
	}
	// Comma lists complete their last ID, the listed ones left out, no space after.
	got, dir = complete(t, "sweep", "--skip", "docker.exited-containers,docker.")
	if len(got) == 0 || dir != ":6" || slices.Contains(got, "docker.exited-containers,docker.exited-containers") {
		t.Errorf("--skip: %v %s", got, dir)
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "docker.exited-containers,docker.") {
			t.Errorf("--skip candidate %q", g)
		}
	}
	got, _ = complete(t, "fix", "net.")
	if !slices.Contains(got, "net.ip-forward-disabled/enable") || slices.Contains(got, "docker.exited-containers/remove") {
		t.Errorf("fix net.: %v", got)
	}
	got, _ = complete(t, "fix", "net.ip-forward-disabled/enable", "")
	if slices.Contains(got, "net.ip-forward-disabled/enable") || len(got) != len(remCatalog)-1 {
		t.Errorf("fix second arg: %v", got)
	}
	got, _ = complete(t, "npd", "docker.exited-containers", "docker.")
	if len(got) == 0 || slices.Contains(got, "docker.exited-containers") {
		t.Errorf("npd second arg: %v", got)
	}
	// Finding IDs for a suppression, from a replayed snapshot.
	got, _ = complete(t, "suppress", "--from", "../../fixtures/disk-full/snapshot.json", "")
	want := fixtureFindingIDs(t, "disk-full")
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("suppress --from disk-full: %v, want %v", got, want)
	}
	// Paths: files by extension, directories, any file.
	for _, tc := range []struct {
		args []string
		dir  string
	}{
		{[]string{"sweep", "--from", ""}, ":8"}, // FilterFileExt
		{[]string{"diff", "--config", ""}, ":8"},
		{[]string{"sweep", "--host-root", ""}, ":16"}, // FilterDirs
		{[]string{"sweep", "--textfile", ""}, ":16"},
		{[]string{"sweep", "--output", ""}, ":0"}, // default: files
		{[]string{"sweep", "--format", ""}, ":4"},
	} {
		if _, dir := complete(t, tc.args...); dir != tc.dir {
			t.Errorf("%v: directive %s, want %s", tc.args, dir, tc.dir)
		}
	}
	if got, _ := complete(t, "sweep", "--from", ""); !slices.Equal(got, []string{"json"}) {
		t.Errorf("--from extensions %v", got)
	}
	if got, _ := complete(t, "sweep", "--format", ""); !slices.Contains(got, "sarif") {
		t.Errorf("sweep --format %v", got)
	}
	kc := kubeconfigTwo(t)
	for flag, want := range map[string][]string{"--context": {"main", "other"}, "--cluster": {"first", "second"}, "--user": {"alice", "bob"}} {
		if got, _ := complete(t, "sweep", "--kubeconfig", kc, flag, ""); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", flag, got, want)
		}
	}
	// The shell scripts themselves are generated.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := inproc(t, "completion", sh); r.code != 0 || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s: code %d", sh, r.code)
		}
	}
}

// fixtureFindingIDs replays a fixture with every check.
func fixtureFindingIDs(t *testing.T, name string) []string {
	t.Helper()
	snap, err := load.Snapshot(filepath.Join("../../fixtures", name, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &doctor.Doctor{Checks: checks.All(), Config: diag.DefaultConfig()}
	var ids []string
	for _, f := range d.Replay(snap, doctor.Progress{}).Findings {
		if !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

func TestSuppressPrintsValidEntries(t *testing.T) {
	snap := "../../fixtures/disk-full/snapshot.json"
	id := fixtureFindingIDs(t, "disk-full")[0]
	r := inproc(t, "suppress", "--from", snap, id, "net.ip-forward-disabled", "--reason", "accepted: ticket 42", "--until", "2027-01-31")
	if r.code != exitCannot || !strings.Contains(r.stderr, "net.ip-forward-disabled") {
		t.Fatalf("an ID the snapshot lacks: code %d %s", r.code, r.stderr)
	}
	r = inproc(t, "suppress", "--from", snap, id, "--reason", "accepted: ticket 42", "--until", "2027-01-31")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	cfg, err := diag.ParseConfig([]byte(r.stdout))
	if err != nil || len(cfg.Suppressions) != 1 || cfg.Suppressions[0].Until != "2027-01-31" {
		t.Fatalf("%v %+v\n%s", err, cfg, r.stdout)
	}
	// The printed entry suppresses the finding it names.
	s, _ := load.Snapshot(snap)
	d := &doctor.Doctor{Checks: checks.All(), Config: cfg}
	for _, f := range d.Replay(s, doctor.Progress{}).Findings {
		if f.ID == id && f.Suppressed == nil {
			t.Errorf("%s not suppressed by\n%s", id, r.stdout)
		}
	}
	if r := inproc(t, "suppress", "docker.exited-containers"); r.code != exitCannot || !strings.Contains(r.stderr, "reason") {
		t.Errorf("no --reason: code %d %s", r.code, r.stderr)
	}
	if r := inproc(t, "suppress", "docker.exited-containers", "--reason", "x", "--until", "31/01/2027"); r.code != exitCannot {
		t.Errorf("bad --until: code %d", r.code)
	}
}
