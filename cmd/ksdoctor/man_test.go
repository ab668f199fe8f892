package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPages builds the binary with -tags man, as make man does, writes
// the pages and finds one for every command a user can run, each with its
// NAME and SYNOPSIS sections.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	manBin := filepath.Join(dir, "ksdoctor-man")
	if out, err := exec.Command("go", "build", "-tags", "man", "-o", manBin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags man: %v\n%s", err, out)
	}
	pages := filepath.Join(dir, "man1")
	if err := os.Mkdir(pages, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(manBin, "man", "--dir", pages).CombinedOutput(); err != nil {
		t.Fatalf("ksdoctor man: %v\n%s", err, out)
	}
	root := newRoot(streams{}, &globals{})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	want := map[string]bool{}
	for _, c := range allCommands(root) {
		hidden := false
		for p := c; p != nil; p = p.Parent() {
			hidden = hidden || !p.IsAvailableCommand() && p != root
		}
		if hidden || c.IsAdditionalHelpTopicCommand() {
			continue
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		want[name] = true
		data, err := os.ReadFile(filepath.Join(pages, name))
		if err != nil {
			t.Errorf("command %q has no man page: %v", c.CommandPath(), err)
			continue
		}
		s := string(data)
		if !strings.HasPrefix(s, `.nh`) || !strings.Contains(s, ".TH \"KSDOCTOR\" \"1\"") || !strings.Contains(s, ".SH NAME") || !strings.Contains(s, ".SH SYNOPSIS") {
			t.Errorf("%s is not a man page:\n%.300s", name, s)
		}
	}
	for _, n := range []string{"ksdoctor.1", "ksdoctor-sweep.1", "ksdoctor-explain.1", "ksdoctor-completion-bash.1"} {
		if !want[n] {
			t.Errorf("%s not among the commands", n)
		}
	}
	got, _ := filepath.Glob(filepath.Join(pages, "*.1"))
	if len(got) != len(want) {
		t.Errorf("%d pages for %d commands", len(got), len(want))
	}
	if man, err := exec.LookPath("man"); err == nil {
		// man -l renders a page file when man-db is installed.
		if out, err := exec.Command(man, "-l", "-P", "cat", filepath.Join(pages, "ksdoctor-explain.1")).CombinedOutput(); err != nil || !strings.Contains(string(out), "ksdoctor explain") {
			t.Errorf("man -l: %v\n%s", err, out)
		}
	}
}
