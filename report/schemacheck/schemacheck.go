// Package schemacheck validates JSON reports against docs/report.schema.json
// (embedded by package docs) with a full JSON Schema implementation. Only
// tests import it: the library compiles every draft's meta-schemas in its
// init, a cost the binary does not pay (it uses package report/validate,
// held to the same verdicts by a test).
package schemacheck

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ksdoctor/ksdoctor/docs"
	"github.com/ksdoctor/ksdoctor/report/validate"
)

// SchemaFile is the JSON Schema of the report, relative to the module root.
const SchemaFile = "docs/report.schema.json"

const schemaURL = "https://ksdoctor.dev/schemas/report-v1.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func compiled() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.ReportSchema))
		if err != nil {
			schemaErr = fmt.Errorf("parse %s: %w", SchemaFile, err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(schemaURL, doc); err != nil {
			schemaErr = fmt.Errorf("load %s: %w", SchemaFile, err)
			return
		}
		schema, schemaErr = c.Compile(schemaURL)
	})
	return schema, schemaErr
}

// ValidateJSON checks a JSON report against docs/report.schema.json, then
// checks that its summary counts match what it lists.
func ValidateJSON(doc []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("load report schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("report does not match %s: %w", SchemaFile, err)
	}
	return validate.Counts(doc)
}

// FleetSchemaFile is the JSON Schema of the fleet report.
const FleetSchemaFile = "docs/fleet.schema.json"

var (
	fleetOnce   sync.Once
	fleetSchema *jsonschema.Schema
	fleetErr    error
)

func compiledFleet() (*jsonschema.Schema, error) {
	fleetOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		for _, s := range []struct {
			id  string
			doc []byte
		}{{docs.ReportSchemaID, docs.ReportSchema}, {docs.FleetSchemaID, docs.FleetSchema}} {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.doc))
			if err != nil {
				fleetErr = fmt.Errorf("parse %s: %w", s.id, err)
				return
			}
			if err := c.AddResource(s.id, v); err != nil {
				fleetErr = fmt.Errorf("load %s: %w", s.id, err)
				return
			}
		}
		fleetSchema, fleetErr = c.Compile(docs.FleetSchemaID)
	})
	return fleetSchema, fleetErr
}

// ValidateFleetJSON checks a fleet report against docs/fleet.schema.json
// (which holds each node's report to docs/report.schema.json).
func ValidateFleetJSON(doc []byte) error {
	s, err := compiledFleet()
	if err != nil {
		return fmt.Errorf("load fleet schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("fleet report is not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("fleet report does not match %s: %w", FleetSchemaFile, err)
	}
	return nil
}
