package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// ReadSnapshot decodes a recorded snapshot, refusing anything that is not a
// ksdoctor snapshot of this SchemaVersion.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	var head struct {
		SchemaVersion *int                     `json:"schemaVersion"`
		Tool          *Tool                    `json:"tool"`
		Sources       map[Source]*SourceStatus `json:"sources"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a ksdoctor snapshot: %w", err)
	}
	if head.SchemaVersion == nil || head.Tool == nil || head.Tool.Name != "ksdoctor" || head.Sources == nil {
		return nil, fmt.Errorf("not a ksdoctor snapshot: schemaVersion, tool or sources missing")
	}
	if *head.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("snapshot schemaVersion %d is not supported (this ksdoctor reads %d)", *head.SchemaVersion, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return &s, nil
}
