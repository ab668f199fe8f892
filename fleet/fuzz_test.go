package fleet

import (
	"encoding/json"
	"testing"
)

// FuzzExtractJSON: a pod log of any shape yields either nothing or one
// valid JSON value, never a panic.
func FuzzExtractJSON(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1}`))
	f.Add([]byte("ksdoctor: note\n{\"a\":[1,2]}\ntrailer"))
	f.Add([]byte("{\n{\"a\":1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := extractJSON(b)
		if ok && !json.Valid(got) {
			t.Fatalf("extractJSON(%q) = %q, not JSON", b, got)
		}
	})
}

// FuzzParseTemplate: a --job-template of any content is refused or yields
// a template whose merge keeps the sweep's container and restart policy.
func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers: [{name: ksdoctor, image: r/k:1}]\n"))
	f.Add([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      volumes: [{name: host, hostPath: {path: /srv}}]\n"))
	f.Add([]byte("kind: Pod"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseTemplate(b)
		if err != nil {
			return
		}
		spec, err := tm.apply(basePodSpec("img"))
		if err != nil {
			t.Fatalf("accepted template does not apply: %v", err)
		}
		if err := validateSpec(spec); err != nil {
			t.Fatalf("accepted template breaks the spec: %v", err)
		}
	})
}
