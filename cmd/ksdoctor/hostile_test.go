package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// hostileLabel is a daemon.json label that, shown raw, retitles the
// terminal (OSC 0 … BEL), clears the screen (CSI 2J) and draws a fake
// verdict.
const hostileLabel = "evil=\x1b]0;pwned\x07\x1b[2J fake: all checks passed"

// TestTUIHostileLabelInTmux runs the real binary in a real terminal
// against a real dockerd started with a daemon.json whose label holds
// terminal escapes; ksdoctor reads the same file under --host-root and
// shows it (docker.effective-config, on disk and running). The pane title
// must never change, the screen must never be cleared, and the escape must
// be shown, visibly, as text.
func TestTUIHostileLabelInTmux(t *testing.T) {
	testbed.Require(t, "dockerd", "tmux")
	root := t.TempDir()
	dj := filepath.Join(root, "etc/docker/daemon.json")
	if err := os.MkdirAll(filepath.Dir(dj), 0o755); err != nil {
		t.Fatal(err)
	}
	// JSON escapes in the file; dockerd and ksdoctor decode them to the
	// real control characters.
	content := `{"labels": ["evil=\u001b]0;pwned\u0007\u001b[2J fake: all checks passed"]}` + "\n"
	if err := os.WriteFile(dj, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	n := newNode(t, testbed.DockerdOptions{ExtraArgs: []string{"--config-file", dj}})
	info, err := n.d.Client(t).Info(t.Context())
	if err != nil || !containsString(info.Labels, hostileLabel) {
		t.Fatalf("dockerd does not carry the label: %v %q", err, info.Labels)
	}

	argv := append([]string{bin, "tui", "--host-root", root, "--checks", "docker.effective-config"}, n.flags...)
	tm := startTermEnv(t, t.TempDir(), 200, 40, []string{"TERM=xterm-256color"}, argv...)
	if out, err := tm.tmux("select-pane", "-T", "ksdt-title"); err != nil {
		t.Fatalf("select-pane: %v\n%s", err, out)
	}
	title := func() string {
		out, _ := tm.tmux("display-message", "-p", "#{pane_title}")
		return strings.TrimSpace(out)
	}
	tm.waitText(t, 60*time.Second, "Findings", "dockerd configuration")
	tm.keys(t, "Enter")
	s := tm.waitText(t, 30*time.Second, "Evidence", "labels")
	t.Logf("detail:\n%s", s)
	if got := title(); got != "ksdt-title" {
		t.Errorf("the pane title changed to %q", got)
	}
	lines := strings.Split(s, "\n")
	if !strings.HasPrefix(lines[0], "ksdoctor ·") {
		t.Errorf("the frame's first row is gone (screen cleared?):\n%s", s)
	}
	if !strings.Contains(s, `\x1b]0;pwned\x07\x1b[2J`) {
		t.Errorf("the escape is not shown as text:\n%s", s)
	}
	for _, l := range lines {
		if strings.Contains(l, "fake: all checks passed") && !strings.Contains(l, `\x1b[2J`) {
			t.Errorf("the fake verdict stands on its own:\n%s", l)
		}
	}
	tm.keys(t, "q")
	tm.waitFor(t, "exit", 10*time.Second, func(string) bool {
		out, _ := tm.tmux("display-message", "-p", "#{pane_dead}")
		return strings.TrimSpace(out) == "1"
	})
	if got := title(); got != "ksdt-title" {
		t.Errorf("the pane title changed to %q", got)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
