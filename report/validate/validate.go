// Package validate checks a JSON report against docs/report.schema.json in
// the binary (diff, sweep --baseline). It interprets the keywords the
// report schema uses, and refuses any other keyword, so a schema change
// cannot pass unchecked. A full JSON Schema library compiles every draft's
// meta-schemas in its init (3.5 ms and 1.7 MB at every start of the
// binary, whatever the command): that library stays in package
// report/schemacheck, which the tests use, and TestAgreesWithJSONSchema
// holds the two to the same verdicts.
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ksdoctor/ksdoctor/docs"
)

var (
	once     sync.Once
	root     map[string]any
	rootErr  error
	patterns sync.Map // string -> *regexp.Regexp
)

// ignored are the keywords that never constrain a value.
var ignored = []string{"$schema", "$id", "$defs", "title", "description"}

// Report validates doc, a JSON report, against the report schema, then
// checks its summary counts (Counts).
func Report(doc []byte) error {
	once.Do(func() {
		rootErr = json.Unmarshal(docs.ReportSchema, &root)
	})
	if rootErr != nil {
		return fmt.Errorf("load report schema: %w", rootErr)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("not JSON: data after the report")
	}
	if err := check(root, v, ""); err != nil {
		return err
	}
	return Counts(doc)
}

func check(s map[string]any, v any, at string) error {
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if slices.Contains(ignored, k) {
			continue
		}
		if err := keyword(s, k, s[k], v, at); err != nil {
			return err
		}
	}
	return nil
}

func where(at string) string {
	if at == "" {
		return "the report"
	}
	return at
}

func keyword(s map[string]any, k string, kw, v any, at string) error {
	switch k {
	case "$ref":
		ref, _ := kw.(string)
		sub, ok := resolve(ref)
		if !ok {
			return fmt.Errorf("report schema: unresolved $ref %q", ref)
		}
		return check(sub, v, at)
	case "type":
		return checkType(kw, v, at)
	case "const":
		if !same(kw, v) {
			return fmt.Errorf("%s: must be %v", where(at), kw)
		}
	case "enum":
		for _, e := range kw.([]any) {
			if same(e, v) {
				return nil
			}
		}
		return fmt.Errorf("%s: %v is not one of %v", where(at), v, kw)
	case "required":
		obj, ok := v.(map[string]any)
		for _, name := range kw.([]any) {
			if _, has := obj[name.(string)]; ok && !has {
				return fmt.Errorf("%s: missing property %q", where(at), name)
			}
		}
	case "properties":
		obj, _ := v.(map[string]any)
		props := kw.(map[string]any)
		// In name order: the same document is refused for the same reason.
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if pv, has := obj[name]; has {
				if err := check(props[name].(map[string]any), pv, at+"/"+name); err != nil {
					return err
				}
			}
		}
	case "items":
		arr, _ := v.([]any)
		for i, it := range arr {
			if err := check(kw.(map[string]any), it, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	case "allOf":
		for _, sub := range kw.([]any) {
			if err := check(sub.(map[string]any), v, at); err != nil {
				return err
			}
		}
	case "if":
		if check(kw.(map[string]any), v, at) == nil {
			if then, ok := s["then"].(map[string]any); ok {
				return check(then, v, at)
			}
		}
	case "then":
		// judged with "if"
	default:
		return constraint(k, kw, v, at)
	}
	return nil
}

func constraint(k string, kw, v any, at string) error {
	switch k {
	case "minLength":
		if str, ok := v.(string); ok && float64(len([]rune(str))) < num(kw) {
			return fmt.Errorf("%s: shorter than %v characters", where(at), kw)
		}
	case "minimum":
		if n, ok := v.(json.Number); ok {
			if f, _ := n.Float64(); f < num(kw) {
				return fmt.Errorf("%s: %v is below %v", where(at), n, kw)
			}
		}
	case "pattern":
		str, ok := v.(string)
		if !ok {
			return nil
		}
		re, err := pattern(kw.(string))
		if err != nil {
			return fmt.Errorf("report schema: %w", err)
		}
		if !re.MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", where(at), str, kw)
		}
	case "format":
		str, ok := v.(string)
		if !ok {
			return nil
		}
		layout := map[string]string{"date-time": time.RFC3339Nano, "date": time.DateOnly}[kw.(string)]
		if layout == "" {
			return fmt.Errorf("report schema: format %q is not supported here", kw)
		}
		if _, err := time.Parse(layout, str); err != nil || kw == "date-time" && !rfc3339Shape(str) {
			return fmt.Errorf("%s: %q is not a %s", where(at), str, kw)
		}
	default:
		return fmt.Errorf("report schema: keyword %q is not supported by package validate", k)
	}
	return nil
}

// rfc3339Shape tells whether s has RFC 3339's date-time shape, digit for
// digit (2006-01-02T15:04:05[.999]Z or ±07:00), as JSON Schema's format
// demands. time.Parse alone is more lenient: it takes a one-digit hour
// ("T9:02:06Z") and a comma before the fraction.
func rfc3339Shape(s string) bool {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(shape) {
		return false
	}
	for i := range len(shape) {
		if shape[i] == 'd' && !digits(s[i:i+1]) || shape[i] != 'd' && s[i] != shape[i] {
			return false
		}
	}
	rest := s[len(shape):]
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && digits(rest[n:n+1]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:3]) && rest[3] == ':' && digits(rest[4:])
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func num(kw any) float64 {
	f, _ := kw.(float64)
	return f
}

func pattern(p string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	patterns.Store(p, re)
	return re, nil
}

func resolve(ref string) (map[string]any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = root
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

func checkType(kw, v any, at string) error {
	var types []any
	switch t := kw.(type) {
	case string:
		types = []any{t}
	case []any:
		types = t
	}
	for _, t := range types {
		if isType(t.(string), v) {
			return nil
		}
	}
	return fmt.Errorf("%s: is not of type %v", where(at), kw)
}

func isType(t string, v any) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}

// same compares a schema value (decoded as float64 numbers) with a
// document value (json.Number).
func same(schemaVal, v any) bool {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		sf, isNum := schemaVal.(float64)
		return err == nil && isNum && f == sf
	}
	return reflect.DeepEqual(schemaVal, v)
}

// Counts checks what a JSON Schema cannot: the summary counts match
// the findings and checks the report lists.
func Counts(doc []byte) error {
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
