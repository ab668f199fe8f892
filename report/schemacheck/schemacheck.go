// Package schemacheck validates JSON reports against docs/report.schema.json
// and fleet reports against docs/fleet.schema.json. The schemas are the
// ones package docs embeds, so the fleet sweep can validate a node report
// it reads back from a pod; other commands do not call it, and the schemas
// are compiled on first use only.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ksdoctor/ksdoctor/docs"
)

// SchemaFile is the JSON Schema of the report, relative to the module root.
const SchemaFile = "docs/report.schema.json"

// FleetSchemaFile is the JSON Schema of the fleet report.
const FleetSchemaFile = "docs/fleet.schema.json"

var (
	schemaOnce          sync.Once
	schema, fleetSchema *jsonschema.Schema
	schemaErr           error
)

func compile() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, s := range []struct {
		id  string
		doc []byte
	}{{docs.ReportSchemaID, docs.ReportSchema}, {docs.FleetSchemaID, docs.FleetSchema}} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.doc))
		if err != nil {
			schemaErr = fmt.Errorf("schema %s: %w", s.id, err)
			return
		}
		if err := c.AddResource(s.id, v); err != nil {
			schemaErr = fmt.Errorf("schema %s: %w", s.id, err)
			return
		}
	}
	if schema, schemaErr = c.Compile(docs.ReportSchemaID); schemaErr != nil {
		return
	}
	fleetSchema, schemaErr = c.Compile(docs.FleetSchemaID)
}

// ValidateJSON checks a JSON report against docs/report.schema.json and
// that its summary counts match what it lists.
func ValidateJSON(doc []byte) error {
	schemaOnce.Do(compile)
	if schemaErr != nil {
		return fmt.Errorf("load report schema: %w", schemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	if err := schema.Validate(v); err != nil {
		return fmt.Errorf("report does not match %s: %w", SchemaFile, err)
	}
	return checkCounts(doc)
}

// ValidateFleetJSON checks a fleet report against docs/fleet.schema.json
// (which holds each node's report to docs/report.schema.json).
func ValidateFleetJSON(doc []byte) error {
	schemaOnce.Do(compile)
	if schemaErr != nil {
		return fmt.Errorf("load fleet schema: %w", schemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("fleet report is not JSON: %w", err)
	}
	if err := fleetSchema.Validate(v); err != nil {
		return fmt.Errorf("fleet report does not match %s: %w", FleetSchemaFile, err)
	}
	return nil
}

// checkCounts checks what a JSON Schema cannot: the summary counts match
// the findings and checks the report lists.
func checkCounts(doc []byte) error {
	var r struct {
		Checks []struct {
			Status string `json:"status"`
		} `json:"checks"`
		Findings []struct {
			Severity string `json:"severity"`
		} `json:"findings"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(doc, &r); err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	want := map[string]int{"critical": 0, "warning": 0, "info": 0, "errored": 0, "skipped": 0}
	for _, f := range r.Findings {
		want[f.Severity]++
	}
	for _, c := range r.Checks {
		switch c.Status {
		case "error":
			want["errored"]++
		case "skipped":
			want["skipped"]++
		}
	}
	for _, k := range []string{"critical", "warning", "info", "errored", "skipped"} {
		if r.Summary[k] != want[k] {
			return fmt.Errorf("report summary.%s is %d, but the report lists %d", k, r.Summary[k], want[k])
		}
	}
	return nil
}
