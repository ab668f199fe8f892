// Package docs is ksdoctor's user documentation. Its Go side embeds the
// JSON Schema of the report (report.schema.json), so the binary validates
// the reports it reads (diff, sweep --baseline) against the very file the
// documentation links to.
package docs

import _ "embed"

// ReportSchema is report.schema.json.
//
//go:embed report.schema.json
var ReportSchema []byte
