package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ksdoctor/ksdoctor/gather"
)

// pluginName is the file name kubectl looks for on PATH to run
// "kubectl ksdoctor": the same binary, installed (or linked) under it.
const pluginName = "kubectl-ksdoctor"

// invokedAs is argv[0]; tests set it to see the plugin's usage text.
var invokedAs = os.Args[0]

// displayName is how the usage text names the command: "kubectl ksdoctor"
// when kubectl ran the binary as its plugin, else "ksdoctor".
func displayName(argv0 string) string {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == pluginName {
		return "kubectl ksdoctor"
	}
	return "ksdoctor"
}

// asPlugin names the root command as the user typed it, so usage lines,
// examples and completion read "kubectl ksdoctor sweep" under kubectl.
func asPlugin(root *cobra.Command) {
	name := displayName(invokedAs)
	if name == "ksdoctor" {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = name
}

// kubeFlags are kubectl's kubeconfig flags beyond --kubeconfig and
// --context, spelled as kubectl spells them.
type kubeFlags struct {
	cluster, user, requestTimeout string
}

// addKubeFlags registers --kubeconfig, --context, --cluster, --user and
// --request-timeout with kubectl's meanings.
func addKubeFlags(pf *pflag.FlagSet, g *globals) {
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "kubeconfig for the cluster checks (default $KUBECONFIG, ~/.kube/config, in-cluster)")
	pf.StringVar(&g.kubeCtx, "context", "", "kubeconfig context to use (default the current context)")
	pf.StringVar(&g.kube.cluster, "cluster", "", "kubeconfig cluster to use (default the context's)")
	pf.StringVar(&g.kube.user, "user", "", "kubeconfig user to use (default the context's)")
	pf.StringVar(&g.kube.requestTimeout, "request-timeout", "", "how long to wait for one API request, e.g. 1s, 2m or whole seconds (default the kubeconfig's; 0 waits without limit)")
}

// kubeOptions fills the cluster options of the gatherer from the flags;
// a bad --request-timeout is refused before anything runs.
func (g *globals) kubeOptions(o *gather.Options) error {
	if g.kube.requestTimeout != "" {
		if _, err := clientcmd.ParseTimeout(g.kube.requestTimeout); err != nil {
			return fail(exitCannot, "pass --request-timeout as 30s, 2m or whole seconds", "--request-timeout %q: %v", g.kube.requestTimeout, err)
		}
	}
	o.Kubeconfig, o.KubeContext = g.kubeconfig, g.kubeCtx
	o.KubeCluster, o.KubeUser, o.KubeRequestTimeout = g.kube.cluster, g.kube.user, g.kube.requestTimeout
	return nil
}
