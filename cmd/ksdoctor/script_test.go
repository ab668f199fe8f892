package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ksdoctor/ksdoctor/report/schemacheck"
)

// The CLI contract lives in testdata/script/*.txtar, one spec per topic,
// read as a user would type the commands: exit codes, error and hint lines,
// refusals, output formats, checks, diff and suppressions. Each script runs
// the real main (registered below) as the command ksdoctor. The Go tests
// beside this file are the ones that need real parts: dockerd, iptables in
// a namespace, kube-apiserver, systemd, tmux.

// bin is the real ksdoctor binary, built by TestMain, for the tests that
// run it under nsenter, inside a booted machine or in tmux.
var bin string

func TestMain(m *testing.M) {
	testscript.Main(buildFirst{m}, map[string]func(){"ksdoctor": main})
}

// buildFirst builds the binary the Go tests run before running them
// (KSDOCTOR_TEST_BIN runs them against another build instead).
type buildFirst struct{ m *testing.M }

func (b buildFirst) Run() int {
	dir, err := os.MkdirTemp("", "ksdoctor-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "ksdoctor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ksdoctor: %v\n%s", err, out)
		return 1
	}
	if other := os.Getenv("KSDOCTOR_TEST_BIN"); other != "" {
		bin = other
	}
	return b.m.Run()
}

// TestScript runs the CLI specs in testdata/script.
func TestScript(t *testing.T) {
	fixtures, err := filepath.Abs(filepath.Join("..", "..", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("FIXTURES", fixtures)
			e.Setenv("NO_COLOR", "1")
			// No spec may reach this machine's Docker or cluster.
			e.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
			e.Setenv("KUBECONFIG", filepath.Join(e.WorkDir, "no-kubeconfig"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitCode,
			"validjson": cmdValidJSON,
			"filemode":  cmdFileMode,
		},
	})
}

// exitcode N COMMAND [ARGS...] runs COMMAND and fails unless it exits N;
// its stdout and stderr are then checked as after exec.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// validjson report|fleet FILE fails unless FILE (or stdout) is valid
// against docs/report.schema.json or docs/fleet.schema.json.
func cmdValidJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: validjson report|fleet FILE")
	}
	validate := map[string]func([]byte) error{"report": schemacheck.ValidateJSON, "fleet": schemacheck.ValidateFleetJSON}[args[0]]
	if validate == nil {
		ts.Fatalf("validjson: unknown schema %q", args[0])
	}
	err := validate([]byte(ts.ReadFile(args[1])))
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s is not a valid %s: %v", args[1], args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s is a valid %s", args[1], args[0])
	}
}

// filemode PERM FILE fails unless FILE's permission bits are PERM (octal).
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filemode PERM file")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("filemode: %v", err)
	}
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}
