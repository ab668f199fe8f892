// Command ksdt-pause is the sandbox ("pause") process of the test kubelet's
// pods (testbed/kube's Node): nothing can be pulled there, so the harness
// builds this static binary into an image and imports it into the node's
// containerd. It waits for SIGTERM or SIGINT and exits 0.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}
