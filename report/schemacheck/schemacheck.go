// Package schemacheck validates JSON reports against docs/report.schema.json.
// Only tests import it, so the validator stays out of the ksdoctor binary
// (it costs tens of milliseconds at start-up).
package schemacheck

import (
	"bytes"
	"encoding/json"

	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFile is the JSON Schema of the report, relative to the module root.
const SchemaFile = "docs/report.schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// moduleRoot walks up from the working directory to the folder with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ValidateJSON checks a JSON report against docs/report.schema.json. It is
// meant for tests, which run inside the source tree.
func ValidateJSON(doc []byte) error {
	schemaOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile(filepath.Join(root, SchemaFile))
	})
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

// checkCounts checks what a JSON Schema cannot: the summary counts match
// the findings and checks the report lists.
func checkCounts(doc []byte) error {
	var r struct {
		Checks []struct {
			Status string `json:"status"`
		} `json:"checks"`
		Findings []struct {
			Severity   string          `json:"severity"`
			Suppressed json.RawMessage `json:"suppressed"`
		} `json:"findings"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(doc, &r); err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	want := map[string]int{"critical": 0, "warning": 0, "info": 0, "errored": 0, "skipped": 0, "suppressed": 0}
	for _, f := range r.Findings {
		if len(f.Suppressed) > 0 && string(f.Suppressed) != "null" {
			want["suppressed"]++
			continue
		}
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
	for _, k := range []string{"critical", "warning", "info", "errored", "skipped", "suppressed"} {
		if r.Summary[k] != want[k] {
			return fmt.Errorf("report summary.%s is %d, but the report lists %d", k, r.Summary[k], want[k])
		}
	}
	return nil
}
