// Command kube-apiserver is the upstream kube-apiserver main (k8s.io/kubernetes
// cmd/kube-apiserver/apiserver.go at v1.36.3), repeated here so that this module's
// go.mod and go.sum cover exactly what `go build k8s.io/kubernetes/cmd/kube-apiserver`
// needs. build.sh builds the upstream package; this file keeps `go mod tidy` honest
// and can be built instead (`go build .`) with the same result.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
