package main

import (
	"bytes"
	"path/filepath"

	"github.com/ksdoctor/ksdoctor/atomicfile"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report"
)

// writeTextfile writes the report's metrics to DIR/ksdoctor.prom for
// node_exporter's textfile collector: to a hidden temporary file in DIR
// (a name the collector ignores), fsynced, then renamed over the old one,
// so a scrape never reads half a file. Mode 0644: node_exporter runs as
// its own user.
func writeTextfile(dir string, rep *diag.Report) error {
	var b bytes.Buffer
	if err := report.WriteTextfile(&b, rep); err != nil {
		return fail(exitCannot, "", "render metrics: %v", err)
	}
	path := filepath.Join(dir, report.TextfileName)
	if err := atomicfile.Write(path, b.Bytes(), 0o644); err != nil {
		return fail(exitCannot, "--textfile takes an existing directory, node_exporter's --collector.textfile.directory", "write metrics: %v", err)
	}
	return nil
}
