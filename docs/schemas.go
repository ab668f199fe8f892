package docs

import _ "embed" // the fleet schema below

// FleetSchema is fleet.schema.json: the merged report of a fleet sweep
// (ksdoctor sweep --all-nodes); each node's report in it is report-v1.
//
//go:embed fleet.schema.json
var FleetSchema []byte

// Schema IDs ($id of each schema), used to compile them from memory.
const (
	ReportSchemaID = "https://ksdoctor.dev/schemas/report-v1.json"
	FleetSchemaID  = "https://ksdoctor.dev/schemas/fleet-v1.json"
)
