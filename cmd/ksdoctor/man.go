//go:build man

package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// The man page generator is built only with -tags man (make man), so the
// shipped binary links neither cobra/doc nor its Markdown and roff code.
func init() { extraCommands = append(extraCommands, newManCmd) }

func newManCmd(io streams, _ *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "man",
		Short:  "Write a man page for every command into --dir (an existing directory)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root := cmd.Root()
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Title: "KSDOCTOR", Section: "1", Source: "ksdoctor " + version, Manual: "ksdoctor manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fail(exitCannot, "pass --dir an existing, writable directory", "man pages: %v", err)
			}
			fmt.Fprintf(io.out, "man pages written to %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory the pages are written to")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
