// Command ksdoctor is a node doctor for Kubernetes and KubeSphere nodes that
// run Docker: it sweeps the node for known failure modes, reports findings
// as text, Markdown or JSON, and applies one-command remediations inside a
// safety envelope (preview, confirm, apply, re-check).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
