package main

import (
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
)

// extraCommands are added by files built with a tag (man.go: -tags man).
var extraCommands []func(streams, *globals) *cobra.Command

// finishRoot adds this file's commands, names the root as kubectl's plugin
// when run so, and gives every flag and argument its shell completion.
func finishRoot(root *cobra.Command, io streams, g *globals) {
	root.AddCommand(newExplainCmd(io), newSuppressCmd(io, g))
	for _, mk := range extraCommands {
		root.AddCommand(mk(io, g))
	}
	asPlugin(root)
	for _, c := range allCommands(root) {
		completeFlags(c, g)
	}
	for name, fn := range map[string]cobra.CompletionFunc{"fix": completeRemediationIDs, "npd": completeManyCheckIDs} {
		if c, _, err := root.Find([]string{name}); err == nil && c != root && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = fn
		}
	}
}

// allCommands is root and every command under it.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

// completeFlags registers the completion of every flag c defines, by name.
func completeFlags(c *cobra.Command, g *globals) {
	byName := map[string]cobra.CompletionFunc{
		"checks":       completeCheckList,
		"skip":         completeCheckList,
		"format":       completeFormats,
		"from":         files("json"),
		"baseline":     files("json"),
		"config":       files("yaml", "yml"),
		"kubeconfig":   files(),
		"output":       files(),
		"job-template": files("yaml", "yml"),
		"host-root":    dirs,
		"textfile":     dirs,
		"export-dir":   dirs,
		"to":           dirs,
		"context":      kubeNames(g, "context"),
		"cluster":      kubeNames(g, "cluster"),
		"user":         kubeNames(g, "user"),
	}
	visit := func(f *pflag.Flag) {
		if fn, ok := byName[f.Name]; ok {
			// A flag already registered (shared persistent flag) keeps its function.
			_ = c.RegisterFlagCompletionFunc(f.Name, fn)
		}
	}
	c.Flags().VisitAll(visit)
	c.PersistentFlags().VisitAll(visit)
}

func files(exts ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(exts) == 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

func dirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completeCheckIDs completes one check ID, described by its title.
func completeCheckIDs(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, c := range checks.All() {
		if !strings.HasPrefix(c.ID, toComplete) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(c.ID, c.Title))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeManyCheckIDs completes check IDs, those already given left out.
func completeManyCheckIDs(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range checks.All() {
		if strings.HasPrefix(c.ID, toComplete) && !slices.Contains(args, c.ID) {
			out = append(out, cobra.CompletionWithDesc(c.ID, c.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeCheckList completes the last ID of a comma-separated list, the
// IDs already listed left out.
func completeCheckList(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, prefix := []string{}, ""
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		prefix = toComplete[:i+1]
		done = splitIDs(prefix)
	}
	var out []cobra.Completion
	for _, c := range checks.All() {
		if !slices.Contains(done, c.ID) && strings.HasPrefix(prefix+c.ID, toComplete) {
			out = append(out, cobra.CompletionWithDesc(prefix+c.ID, c.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeRemediationIDs completes fix's arguments from the catalog, with
// each one's risk: a fresh look at the node to list only those offered now
// would cost a sweep per key press.
func completeRemediationIDs(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, r := range remCatalog {
		if strings.HasPrefix(r.ID, toComplete) && !slices.Contains(args, r.ID) {
			out = append(out, cobra.CompletionWithDesc(r.ID, "risk "+string(r.Risk)+": "+r.What))
		}
	}
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeFormats(c *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	formats := map[string][]cobra.Completion{
		"checks":  {"text", "markdown"},
		"journal": {"text", "json"},
		"sweep":   {"text", "json", "markdown", "sarif", "junit"},
	}[c.Name()]
	if formats == nil {
		formats = []cobra.Completion{"text", "json", "markdown"}
	}
	return formats, cobra.ShellCompDirectiveNoFileComp
}

// kubeNames completes the kubeconfig's context, cluster or user names, the
// kubeconfig found as the cluster checks find it (--kubeconfig first).
func kubeNames(g *globals, kind string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = g.kubeconfig
		cfg, err := rules.Load()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		switch kind {
		case "context":
			for name := range cfg.Contexts {
				out = append(out, name)
			}
		case "cluster":
			for name := range cfg.Clusters {
				out = append(out, name)
			}
		case "user":
			for name := range cfg.AuthInfos {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
