// Command etcd is upstream etcd's main (go.etcd.io/etcd/server/v3 main.go at
// v3.6.16), repeated here so that this module's go.mod and go.sum cover
// exactly what `go build go.etcd.io/etcd/server/v3` needs. build.sh builds the
// upstream package; this file keeps `go mod tidy` honest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
