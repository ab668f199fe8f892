// Command ksdt-clean removes what crashed ksdoctor test runs left behind:
// dockerd and containerd processes, mounts, loop devices, directories under
// /var/tmp/ksdoctor-testbed and ksdt-* network namespaces of test processes
// that are gone (see testbed.KillStaleResources).
package main

import (
	"fmt"
	"os"

	"github.com/ksdoctor/ksdoctor/testbed"
)

func main() {
	if err := testbed.KillStaleResources(); err != nil {
		fmt.Fprintf(os.Stderr, "ksdt-clean: error: %v\n", err)
		os.Exit(1)
	}
}
