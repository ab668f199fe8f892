package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestNoClientsForCommandsThatNeedNone: commands that do not touch the node
// or the cluster never load a kubeconfig. The kubeconfig given is a FIFO
// nobody writes to, so reading it would block: each command must finish
// (well within the deadline) without opening it.
func TestNoClientsForCommandsThatNeedNone(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "kubeconfig")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json")
	for _, args := range [][]string{
		{"--version"},
		{"checks"},
		{"completion", "bash"},
		{"journal", "--host-root", t.TempDir()},
		{"sweep", "--from", snap, "--format", "json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			argv := append(args, "--kubeconfig", fifo, "--docker-host", "unix:///nonexistent/docker.sock")
			cmd := exec.CommandContext(ctx, bin, argv...)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("ksdoctor %v did not finish: it waits on the kubeconfig it has no use for", args)
			}
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("run: %v", err)
			}
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("ksdoctor %v: exit %d\n%s", args, code, out)
			}
		})
	}
}

// TestDoctorBuildsNoClients: the doctor a sweep or a replay uses carries no
// clients; connectExecutor, which only fix and the live UI call, adds them.
func TestDoctorBuildsNoClients(t *testing.T) {
	g := &globals{hostRoot: "/", dockerHost: "unix:///nonexistent/docker.sock", kubeconfig: filepath.Join(t.TempDir(), "none")}
	d, err := g.newDoctor(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Gatherer.Close()
	if d.Executor.Docker != nil || d.Executor.Kube != nil {
		t.Fatalf("newDoctor built clients: %+v", d.Executor)
	}
	connectExecutor(d)
	if d.Executor.Docker == nil {
		t.Fatal("connectExecutor did not set the Docker client")
	}
	if d.Executor.Kube != nil {
		t.Fatal("a Kubernetes client without a kubeconfig")
	}
}
