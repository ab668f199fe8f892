package tui

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// sweptAt is the fixed time of the fake sweeps.
var sweptAt = time.Date(2026, 11, 26, 18, 30, 0, 0, time.UTC)

// fakeEngine records what the TUI asks it to do.
type fakeEngine struct {
	mu       sync.Mutex
	rep      *diag.Report
	sources  []diag.SourceStatus
	prepared []string
	inputs   []map[string]string
	applied  []string
	// prepareErr, when set, is returned by Prepare.
	prepareErr error
	// verified is what Apply reports.
	verified bool
}

func (f *fakeEngine) Sweep(_ context.Context, p doctor.Progress) (*diag.Snapshot, *diag.Report) {
	for _, s := range f.sources {
		p.Source(s)
	}
	for _, c := range f.rep.Checks {
		p.Check(c)
	}
	return &diag.Snapshot{Host: &f.rep.Host, StartedAt: sweptAt}, f.rep
}

func (f *fakeEngine) Replay(snap *diag.Snapshot, p doctor.Progress) *diag.Report {
	_, rep := f.Sweep(context.Background(), p)
	return rep
}

func (f *fakeEngine) Prepare(_ context.Context, id string, inputs map[string]string) (*doctor.Candidate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared = append(f.prepared, id)
	f.inputs = append(f.inputs, inputs)
	if f.prepareErr != nil {
		return nil, f.prepareErr
	}
	fnd, rem, ok := f.rep.FindRemediation(id)
	if !ok {
		return nil, &doctor.NotNeededError{ID: id}
	}
	return &doctor.Candidate{Finding: fnd, Remediation: rem, Snapshot: &diag.Snapshot{Host: &f.rep.Host, Inputs: inputs}}, nil
}

func (f *fakeEngine) Apply(_ context.Context, cand *doctor.Candidate) *diag.ApplyResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, cand.Remediation.ID)
	res := &diag.ApplyResult{RemediationID: cand.Remediation.ID, Title: cand.Remediation.Title, StartedAt: sweptAt, DurationMs: 812}
	for _, s := range cand.Remediation.Plan.Steps {
		res.Steps = append(res.Steps, diag.StepResult{Step: s, Outcome: diag.OutcomeDone, Detail: "done"})
	}
	res.Verified = f.verified
	if f.verified {
		res.VerifyDetail = "re-check passed: the finding is resolved"
	} else {
		res.VerifyDetail = "re-check still finds: 1 container is left"
	}
	return res
}

func (f *fakeEngine) calls() (prepared, applied []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.prepared...), append([]string(nil), f.applied...)
}

// Step kinds the fakes use beyond those of package diag (high-risk kinds
// live on other branches; the dialog treats every kind alike).
const (
	kindRestartDocker diag.StepKind = "systemd.restart"
	kindMoveDataRoot  diag.StepKind = "docker.dataroot.migrate"
	kindIptablesRule                = diag.StepIPTablesRule
)

func containerStep(id, name string) diag.Step {
	return diag.Step{Kind: diag.StepRemoveContainer, Description: "docker rm " + id + " (" + name + ")",
		Container: &diag.ContainerTarget{ID: id + "0000000000000000", Name: name}}
}

// fixtureReport is a sweep with one finding per kind of remediation.
func fixtureReport() *diag.Report {
	findings := []diag.Finding{
		{
			ID: "disk.docker-root-usage", Check: "disk.docker-root-usage", Severity: diag.Critical,
			Title:       "Docker data-root 93% full",
			Summary:     "The filesystem holding /var/lib/docker is 93% full; kubelet reports DiskPressure above 85%.",
			Explanation: "kubelet image GC starts above 85% and evicts pods when the disk fills.",
			Evidence:    []diag.Evidence{{Label: "Filesystem", Value: "/dev/sda1 on /var/lib/docker"}, {Label: "Used", Value: "93% (46.5 GiB of 50 GiB)"}},
			CausedBy:    []string{"docker.exited-containers"},
			Remediations: []diag.Remediation{{
				ID: "disk.docker-root-usage/migrate", Title: "Move the Docker data-root", Risk: diag.RiskHigh,
				Preview: "Stop docker, copy /var/lib/docker to the new directory, point data-root at it, start docker.",
				Input:   &diag.InputSpec{Name: "to", Prompt: "New data-root directory"},
				Plan:    diag.Plan{Transactional: true, Steps: []diag.Step{{Kind: kindMoveDataRoot, Description: "move /var/lib/docker"}}},
			}},
		},
		{
			ID: "docker.exited-containers", Check: "docker.exited-containers", Severity: diag.Warning,
			Title:   "3 exited containers not managed by kubelet",
			Summary: "3 containers started outside Kubernetes have exited and stay on disk; kubelet never removes them.",
			Evidence: []diag.Evidence{{Label: "Containers to remove", Table: &diag.Table{
				Columns: []string{"ID", "NAME", "EXIT"},
				Rows:    [][]string{{"aaaaaaaaaaaa", "ci-build-1", "0"}, {"bbbbbbbbbbbb", "ci-build-2", "1"}, {"cccccccccccc", "cron-backup", "137"}},
			}}},
			Causes: []string{"disk.docker-root-usage"},
			Remediations: []diag.Remediation{{
				ID: "docker.exited-containers/remove", Title: "Remove 3 exited containers", Risk: diag.RiskLow,
				Preview: "Remove 3 exited containers not managed by kubelet:\n  aaaaaaaaaaaa  ci-build-1  exit 0\n  bbbbbbbbbbbb  ci-build-2  exit 1\n  cccccccccccc  cron-backup  exit 137",
				Plan:    diag.Plan{Steps: []diag.Step{containerStep("aaaaaaaaaaaa", "ci-build-1"), containerStep("bbbbbbbbbbbb", "ci-build-2"), containerStep("cccccccccccc", "cron-backup")}},
			}},
		},
		{
			ID: "net.docker0-masquerade-missing", Check: "net.docker0-masquerade-missing", Severity: diag.Warning,
			Title:   "No MASQUERADE for docker0 (172.17.0.0/16)",
			Summary: "dockerd runs with --iptables=false: containers on docker0 cannot reach outside the node.",
			Remediations: []diag.Remediation{
				{
					ID: "net.docker0-masquerade-missing/add-rule", Title: "Add the MASQUERADE rule", Risk: diag.RiskMedium,
					Preview: "iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
					Plan:    diag.Plan{Steps: []diag.Step{{Kind: kindIptablesRule, Description: "add nat POSTROUTING rule for 172.17.0.0/16"}}},
				},
				{
					ID: "net.docker0-masquerade-missing/enable-iptables", Title: "Let dockerd manage iptables and restart docker", Risk: diag.RiskHigh,
					Preview: "Remove --iptables=false from docker-options.conf, then restart docker (running containers restart unless live-restore).",
					Plan:    diag.Plan{Transactional: true, Steps: []diag.Step{{Kind: kindRestartDocker, Description: "systemctl restart docker"}}},
				},
			},
		},
		{
			ID: "docker.reclaimable", Check: "docker.reclaimable", Severity: diag.Info,
			Title:   "2.1 GiB reclaimable in images and build cache",
			Summary: "Unused images and build cache hold 2.1 GiB.",
			Remediations: []diag.Remediation{
				{ID: "docker.reclaimable/remove-images", Title: "Remove 2 unused images", Risk: diag.RiskLow, Preview: "Remove images 111111111111 and 222222222222.",
					Plan: diag.Plan{Steps: []diag.Step{
						{Kind: diag.StepRemoveImage, Description: "docker rmi 111111111111", Image: &diag.ImageTarget{ID: "sha256:111111111111", Size: 1 << 30}},
						{Kind: diag.StepRemoveImage, Description: "docker rmi 222222222222", Image: &diag.ImageTarget{ID: "sha256:222222222222", Size: 1 << 29}},
					}}},
				{ID: "docker.reclaimable/prune-build-cache", Title: "Prune the build cache", Risk: diag.RiskLow, Preview: "docker builder prune (unused cache only).",
					Plan: diag.Plan{Steps: []diag.Step{{Kind: diag.StepPruneBuildCache, Description: "docker builder prune"}}}},
			},
		},
	}
	checks := []diag.CheckResult{
		{ID: "docker.daemon-unreachable", Title: "Docker daemon unreachable", Status: diag.StatusPass, DurationMs: 0.02},
		{ID: "disk.docker-root-usage", Title: "Docker data-root filling up", Status: diag.StatusFail, DurationMs: 0.05, Findings: 1},
		{ID: "docker.exited-containers", Title: "Exited containers piling up", Status: diag.StatusFail, DurationMs: 0.31, Findings: 1},
		{ID: "net.docker0-masquerade-missing", Title: "docker0 without MASQUERADE", Status: diag.StatusFail, DurationMs: 0.12, Findings: 1},
		{ID: "docker.reclaimable", Title: "Reclaimable Docker disk space", Status: diag.StatusPass, DurationMs: 0.08, Findings: 1},
		{ID: "cluster.evicted-pods", Title: "Evicted pods", Status: diag.StatusSkipped, DurationMs: 0, Reason: "no kubeconfig"},
	}
	rep := &diag.Report{
		SchemaVersion: diag.SchemaVersion,
		Tool:          diag.Tool{Name: "ksdoctor", Version: "test"},
		Host:          diag.HostFacts{Hostname: "node-1", Kernel: "6.1.0"},
		StartedAt:     sweptAt,
		DurationMs:    1234,
		Checks:        checks,
		Findings:      findings,
	}
	diag.Link(rep.Findings)
	diag.SortFindings(rep.Findings)
	rep.Summary = diag.Summarize(rep.Findings)
	return rep
}

func fixtureChecks(rep *diag.Report) []diag.Check {
	var cs []diag.Check
	for _, c := range rep.Checks {
		cs = append(cs, diag.Check{ID: c.ID, Title: c.Title, Needs: []diag.Source{diag.SourceDocker}})
	}
	return cs
}

func newFake() *fakeEngine {
	return &fakeEngine{
		rep:      fixtureReport(),
		verified: true,
		sources: []diag.SourceStatus{
			{Source: diag.SourceHost, OK: true, DurationMs: 1},
			{Source: diag.SourceDocker, OK: true, DurationMs: 14},
		},
	}
}

// newTestModel returns a model at 80x24 that has not swept yet.
func newTestModel(t *testing.T, eng Engine, opts Options) Model {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return sweptAt }
	}
	if opts.Checks == nil {
		if f, ok := eng.(*fakeEngine); ok {
			opts.Checks = fixtureChecks(f.rep)
		}
	}
	m := New(context.Background(), eng, opts)
	m.s.noTicks = true
	m = send(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

// swept returns a model whose first sweep has finished.
func swept(t *testing.T, eng Engine, opts Options) Model {
	t.Helper()
	m := newTestModel(t, eng, opts)
	return drive(t, m, m.Init())
}

// send gives one message to the model and runs the commands it returns.
func send(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, cmd := m.Update(msg)
	return drive(t, next.(Model), cmd)
}

// drive runs cmd and every command that follows from it synchronously,
// feeding each message back to the model.
func drive(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			t.Fatal("drive: too many commands")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
		default:
			next, nc := m.Update(msg)
			m = next.(Model)
			queue = append(queue, nc)
		}
	}
	return m
}

// keys sends key presses: names like "enter", "esc", "tab", "up" or text.
func keys(t *testing.T, m Model, presses ...string) Model {
	t.Helper()
	for _, p := range presses {
		m = send(t, m, keyMsg(p))
	}
	return m
}

func keyMsg(p string) tea.KeyMsg {
	switch p {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(p)}
}

// typeText sends each rune of s as its own key press.
func typeText(t *testing.T, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m = send(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// golden compares got with testdata/NAME.golden; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("view differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// selectFinding moves the list cursor to finding id.
func selectFinding(t *testing.T, m Model, id string) Model {
	t.Helper()
	for range len(m.list.visible) + 1 {
		if f, ok := m.list.selected(); ok && f.ID == id {
			return m
		}
		m = keys(t, m, "down")
	}
	t.Fatalf("finding %s not in the list", id)
	return m
}

var errBoom = errors.New("boom")

func mustContain(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("view lacks %q:\n%s", w, view)
		}
	}
}
