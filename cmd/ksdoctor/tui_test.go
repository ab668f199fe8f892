package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// tmuxSeq makes tmux socket names unique within the process.
var tmuxSeq atomic.Int64

// tmuxTerm is a real terminal: one tmux session on a private server socket
// (-S, in the test's temp dir).
type tmuxTerm struct {
	sock string
	// status is the file the program's exit status is written to, when
	// started by startTermStatus.
	status string
}

// startTerm runs argv (no shell) in a new tmux session of w×h cells, in
// dir. The pane stays after the program exits so its last screen and exit
// status can be read. The server is killed when the test ends.
func startTerm(t testing.TB, dir string, w, h int, argv ...string) *tmuxTerm {
	t.Helper()
	return startTermEnv(t, dir, w, h, nil, argv...)
}

// startTermEnv is startTerm with environment variables (NAME=VALUE) set
// for the program.
func startTermEnv(t testing.TB, dir string, w, h int, env []string, argv ...string) *tmuxTerm {
	t.Helper()
	// A private server whose socket lives in the test's temp dir, so
	// nothing is left behind (kill-server does not remove a socket file).
	sockDir := t.TempDir()
	tm := &tmuxTerm{sock: filepath.Join(sockDir, fmt.Sprintf("ksdt-tui-%d", tmuxSeq.Add(1)))}
	conf := filepath.Join(sockDir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	args := []string{"-S", tm.sock, "-f", conf, "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", dir}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(append(args, "--"), argv...)
	cmd := exec.Command("tmux", args...)
	// A person's terminal: CI=true (set by the CI runner) makes the colour
	// detection assume a dumb pipe, so the program must not inherit it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CI=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return tm
}

func (tm *tmuxTerm) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// screen is what the terminal shows now.
func (tm *tmuxTerm) screen(t testing.TB) string {
	t.Helper()
	out, err := tm.tmux("capture-pane", "-p")
	if err != nil {
		t.Fatalf("capture-pane: %v\n%s", err, out)
	}
	return out
}

// keys sends tmux key names ("Enter", "Escape", "f", "y").
func (tm *tmuxTerm) keys(t testing.TB, keys ...string) {
	t.Helper()
	if out, err := tm.tmux(append([]string{"send-keys"}, keys...)...); err != nil {
		t.Fatalf("send-keys %v: %v\n%s", keys, err, out)
	}
}

// waitFor polls the screen until ok accepts it; it never sleeps to
// synchronise, only between polls.
func (tm *tmuxTerm) waitFor(t testing.TB, what string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var s string
	for {
		s = tm.screen(t)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out after %s; screen:\n%s", what, timeout, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tm *tmuxTerm) waitText(t testing.TB, timeout time.Duration, texts ...string) string {
	t.Helper()
	return tm.waitFor(t, fmt.Sprintf("%q", texts), timeout, func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(x, "\n") && !strings.Contains(s, x) {
				return false
			}
		}
		return true
	})
}

// TestTUIFixExitedContainersInTmux drives the real binary in a real
// terminal against a real dockerd: open ksdoctor, select
// docker.exited-containers, press f, see the container names in the
// preview, press y, see it resolved, export; then the Docker API shows the
// exited containers gone and the running one untouched.
func TestTUIFixExitedContainersInTmux(t *testing.T) {
	testbed.Require(t, "dockerd", "tmux")
	n := newNode(t, testbed.DockerdOptions{})
	cli := n.d.Client(t)
	for i, code := range []int{0, 1, 137} {
		n.d.RunExited(t, fmt.Sprintf("tui-job-%d", i), code)
	}
	running := n.d.RunSleeping(t, "tui-keeper")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("exitedContainers:\n  warnCount: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Plain "ksdoctor" on a terminal opens the TUI.
	// sh records the exit code (tmux does not always): no data is spliced
	// into the script, the paths are positional parameters.
	exitFile := filepath.Join(dir, "exit-code")
	argv := append([]string{"sh", "-c", `f=$1; shift; "$0" "$@"; echo $? > "$f"`, bin, exitFile, "--config", cfg}, n.flags...)
	tm := startTerm(t, dir, 120, 40, argv...)
	tm.waitText(t, 60*time.Second, "Findings", "docker.exited-containers")

	// Select the finding with the filter, then open its fix.
	tm.keys(t, "/")
	tm.waitText(t, 10*time.Second, "/")
	tm.keys(t, "-l", "exited")
	tm.keys(t, "Enter")
	tm.waitFor(t, "only the exited-containers finding", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "filter: exited") && strings.Contains(s, "› ▲ warning")
	})
	tm.keys(t, "f")
	s := tm.waitText(t, 60*time.Second, "Apply this plan?", "Remove 3 exited containers")
	t.Logf("preview:\n%s", s)
	for _, name := range []string{"tui-job-0", "tui-job-1", "tui-job-2"} {
		if !strings.Contains(s, name) {
			t.Errorf("preview lacks %s:\n%s", name, s)
		}
	}
	if strings.Contains(s, "tui-keeper") {
		t.Errorf("preview names the running container:\n%s", s)
	}
	if got := len(listNames(t, n, true)); got != 4 {
		t.Fatalf("the preview changed something: %d containers", got)
	}

	tm.keys(t, "y")
	s = tm.waitText(t, 60*time.Second, "Verified", "re-check passed")
	t.Logf("result:\n%s", s)
	if !strings.Contains(s, "3 done") {
		t.Errorf("result screen:\n%s", s)
	}
	tm.keys(t, "Escape")
	tm.waitText(t, 10*time.Second, "✔ resolved")

	// A new sweep no longer finds it; the applied fix stays for the export.
	tm.keys(t, "Escape") // clear the filter
	// Wait for it before the next key: an Escape followed closely by "r"
	// reaches the program as alt+r.
	tm.waitFor(t, "the filter cleared", 10*time.Second, func(s string) bool { return !strings.Contains(s, "filter: exited") })
	tm.keys(t, "r")
	s = tm.waitFor(t, "a new sweep without the finding", 60*time.Second, func(s string) bool {
		return strings.Contains(s, "Findings") && !strings.Contains(s, "exited containers not managed") && strings.Contains(s, "1 applied")
	})
	t.Logf("after re-sweep:\n%s", s)

	tm.keys(t, "e")
	s = tm.waitText(t, 10*time.Second, "exported")
	matches, _ := filepath.Glob(filepath.Join(dir, "ksdoctor-*.json"))
	if len(matches) != 1 {
		t.Fatalf("export wrote %v; screen:\n%s", matches, s)
	}
	fi, err := os.Stat(matches[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export %s: %v mode %v", matches[0], err, fi.Mode())
	}
	data, _ := os.ReadFile(matches[0])
	var rep diag.Report
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Applied) != 1 || !rep.Applied[0].Verified {
		t.Errorf("exported report applied=%+v err=%v", rep.Applied, err)
	}
	if _, err := os.Stat(strings.TrimSuffix(matches[0], ".json") + ".md"); err != nil {
		t.Errorf("markdown export: %v", err)
	}

	tm.keys(t, "q")
	var code string
	tm.waitFor(t, "the program to exit", 10*time.Second, func(string) bool {
		b, err := os.ReadFile(exitFile)
		code = strings.TrimSpace(string(b))
		return err == nil && code != ""
	})
	if code != "0" {
		t.Errorf("exit code %s, want 0", code)
	}

	left := listNames(t, n, true)
	slices.Sort(left)
	if !slices.Equal(left, []string{"tui-keeper"}) {
		t.Errorf("containers left %v, want only tui-keeper", left)
	}
	in, err := cli.ContainerInspect(context.Background(), running)
	if err != nil || !in.State.Running {
		t.Errorf("running container hurt: %v %+v", err, in.State)
	}
}

// timeUntil starts argv in a new window of tm's running tmux server and
// returns how long until the window's screen satisfies ok (polled every
// millisecond or so), then closes the window. The server is already up, so
// its start-up is not counted.
func (tm *tmuxTerm) timeUntil(b *testing.B, dir string, ok func(string) bool, argv ...string) time.Duration {
	b.Helper()
	start := time.Now()
	out, err := tm.tmux(append([]string{"new-window", "-d", "-P", "-F", "#{pane_id}", "-c", dir, "--"}, argv...)...)
	if err != nil {
		b.Fatalf("new-window: %v\n%s", err, out)
	}
	pane := strings.TrimSpace(out)
	for {
		out, err := tm.tmux("capture-pane", "-p", "-t", pane)
		if err == nil && ok(out) {
			break
		}
		if time.Since(start) > time.Minute {
			b.Fatalf("no frame after a minute; screen:\n%s", out)
		}
		time.Sleep(time.Millisecond)
	}
	d := time.Since(start)
	_, _ = tm.tmux("kill-pane", "-t", pane)
	return d
}

// BenchmarkTUIFirstFrameTmux times the real binary in a real terminal
// (tmux) against a real dockerd holding 40 containers: until the TUI's
// first frame, until its findings list, and, as the baseline in the same
// run, until 'ksdoctor sweep' (the plain report) shows anything and until
// 'ksdoctor --version' shows (the floor: starting the process in a window
// of a running tmux server).
// Goal for the first frame: under 100 ms.
func BenchmarkTUIFirstFrameTmux(b *testing.B) {
	testbed.Require(b, "dockerd", "tmux")
	d := testbed.StartDockerd(b, testbed.DockerdOptions{})
	specs := make([]testbed.ContainerSpec, 0, 40)
	for i := range 39 {
		specs = append(specs, testbed.ContainerSpec{Name: fmt.Sprintf("bench-exited-%d", i), ExitCode: i % 3})
	}
	specs = append(specs, testbed.ContainerSpec{Name: "bench-running", Running: true})
	d.RunMany(b, specs)
	flags := []string{"--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile}
	dir := b.TempDir()
	has := func(s string) func(string) bool { return func(x string) bool { return strings.Contains(x, s) } }
	tm := startTerm(b, dir, 120, 40, "cat")
	var first, list, sweep, version, echo time.Duration
	n := 0
	for b.Loop() {
		// The header is in every frame; the sweep view may already be gone.
		first += tm.timeUntil(b, dir, has("ksdoctor ·"), append([]string{bin}, flags...)...)
		list += tm.timeUntil(b, dir, has("Findings"), append([]string{bin}, flags...)...)
		sweep += tm.timeUntil(b, dir, has("ksdoctor"), append([]string{bin, "sweep"}, flags...)...)
		// tmux drops the output of a process that exits at once: keep it
		// open on cat (no data is spliced into the script: $0 is the path).
		version += tm.timeUntil(b, dir, has("ksdoctor version"), "sh", "-c", `"$0" --version; exec cat`, bin)
		// The harness floor: a shell printing one line.
		echo += tm.timeUntil(b, dir, has("harness floor"), "sh", "-c", "echo harness floor; exec cat")
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(ms(first), "tui_first_frame_ms")
	b.ReportMetric(ms(list), "tui_findings_ms")
	b.ReportMetric(ms(sweep), "sweep_report_ms")
	b.ReportMetric(ms(version), "version_ms")
	b.ReportMetric(ms(echo), "shell_echo_ms")
	fmt.Printf("tui-first-frame: first frame %.1f ms, findings list %.1f ms; baselines: 'ksdoctor sweep' report %.1f ms, 'ksdoctor --version' %.1f ms, 'sh -c echo' (harness floor) %.1f ms (goal: first frame < 100 ms)\n",
		ms(first), ms(list), ms(sweep), ms(version), ms(echo))
}

// TestTUIReplayInTmux browses a recorded snapshot in a real terminal at
// 80x24: the header says fixes are disabled and why, f and y do nothing,
// and with NO_COLOR the screen carries no colour while meaning stays in
// symbols and words; without it, severities are coloured.
func TestTUIReplayInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	snap, err := filepath.Abs("../../fixtures/disk-full/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, noColor := range []bool{true, false} {
		t.Run(fmt.Sprintf("NO_COLOR=%v", noColor), func(t *testing.T) {
			env := []string{"TERM=xterm-256color"}
			if noColor {
				env = append(env, "NO_COLOR=1")
			}
			tm := startTermEnv(t, t.TempDir(), 80, 24, env, bin, "tui", "--from", snap)
			s := tm.waitText(t, 30*time.Second, "REPLAY", "fixes disabled", "Findings", "✖ critical", "▲ warning")
			tm.keys(t, "f")
			tm.keys(t, "y")
			tm.keys(t, "?")
			s = tm.waitText(t, 10*time.Second, "Keys", "close help")
			if strings.Contains(s, "Apply this plan") {
				t.Fatalf("a fix opened in a replay:\n%s", s)
			}
			tm.keys(t, "Escape")
			tm.waitFor(t, "help closed", 10*time.Second, func(s string) bool { return !strings.Contains(s, "close help") })
			tm.keys(t, "Enter")
			s = tm.waitText(t, 10*time.Second, "Evidence", "fixes disabled: a recording, not the live node")
			for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
				if n := len([]rune(l)); n > 80 {
					t.Errorf("line %d is %d cells wide", i, n)
				}
			}
			esc, err := tm.tmux("capture-pane", "-p", "-e")
			if err != nil {
				t.Fatal(err)
			}
			coloured := strings.Contains(esc, "38;5;")
			if coloured == noColor {
				t.Errorf("NO_COLOR=%v but colour present=%v:\n%q", noColor, coloured, esc)
			}
			// Resizing keeps the frame whole: header on the first row,
			// help bar on the last, nothing wrapped.
			for _, sz := range [][2]int{{120, 40}, {80, 24}} {
				if out, err := tm.tmux("resize-window", "-x", fmt.Sprint(sz[0]), "-y", fmt.Sprint(sz[1])); err != nil {
					t.Fatalf("resize-window: %v\n%s", err, out)
				}
				tm.waitFor(t, fmt.Sprintf("a whole frame at %dx%d", sz[0], sz[1]), 10*time.Second, func(s string) bool {
					lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
					return len(lines) == sz[1] && strings.HasPrefix(lines[0], "ksdoctor ·") &&
						strings.Contains(lines[len(lines)-1], "esc back") && strings.Contains(lines[1], "REPLAY")
				})
			}
			tm.keys(t, "q")
			tm.waitFor(t, "exit", 10*time.Second, func(string) bool {
				out, _ := tm.tmux("display-message", "-p", "#{pane_dead}")
				return strings.TrimSpace(out) == "1"
			})
		})
	}
}

// TestTUIStaysLiveWhileGatheringHangsInTmux points the real binary at a
// Docker socket that accepts connections and never answers: the sweep view
// is on screen and answers keys while the docker source hangs, and when it
// times out the findings say the daemon does not answer.
func TestTUIStaysLiveWhileGatheringHangsInTmux(t *testing.T) {
	testbed.Require(t, "tmux")
	dir := t.TempDir()
	host := hungDockerSocket(t)
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("timeouts:\n  source: 4s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tm := startTerm(t, dir, 100, 30, bin, "--config", cfg, "--docker-host", host, "--dockerd-pidfile", filepath.Join(dir, "none.pid"))
	tm.waitText(t, 30*time.Second, "Sweeping this node", "running")
	tm.keys(t, "?")
	tm.waitText(t, 10*time.Second, "Keys", "close help")
	helpAt := time.Since(start)
	tm.keys(t, "x")
	s := tm.waitText(t, 10*time.Second, "Sweeping this node")
	if strings.Contains(s, "Findings") {
		t.Fatalf("the sweep ended before the docker source timed out:\n%s", s)
	}
	s = tm.waitText(t, 60*time.Second, "Findings", "Docker daemon does not answer")
	listAt := time.Since(start)
	t.Logf("help answered after %s, findings after %s:\n%s", helpAt, listAt, s)
	if listAt < 4*time.Second {
		t.Errorf("findings after %s, before the 4 s source timeout: the socket did not hang", listAt)
	}
	tm.keys(t, "q")
}
