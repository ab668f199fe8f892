// Package docs holds the project's documentation; its Go side embeds the
// JSON Schemas of the reports so the binary can validate a node report it
// reads back from a fleet sweep without the source tree at hand.
package docs

import _ "embed" // the schemas below

// ReportSchema is report.schema.json: one node's JSON report.
//
//go:embed report.schema.json
var ReportSchema []byte

// FleetSchema is fleet.schema.json: the merged report of a fleet sweep.
//
//go:embed fleet.schema.json
var FleetSchema []byte

// Schema IDs ($id of each schema), used to compile them from memory.
const (
	ReportSchemaID = "https://ksdoctor.dev/schemas/report-v1.json"
	FleetSchemaID  = "https://ksdoctor.dev/schemas/fleet-v1.json"
)
