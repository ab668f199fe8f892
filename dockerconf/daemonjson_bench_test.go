package dockerconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// bigDaemonJSON is a valid daemon.json with n top-level keys, one per line,
// as a generated or hand-grown file can have.
func bigDaemonJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i := range n {
		fmt.Fprintf(&b, "  \"x-label-%06d\": \"value %d\"", i, i)
		if i < n-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// parseDaemonJSONOld is ParseDaemonJSON as it was before positions were
// found in one pass (each key's line and column counted from the start of
// the file: quadratic in the keys). Kept only as the benchmark's baseline.
func parseDaemonJSONOld(data []byte) (*DaemonJSON, error) {
	d := &DaemonJSON{Data: data}
	if len(bytes.TrimSpace(data)) == 0 {
		d.Close = -1
		return d, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, posError(data, dec.InputOffset(), err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, posError(data, dec.InputOffset(), fmt.Errorf("the configuration must be a JSON object, not %v", tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, posError(data, dec.InputOffset(), err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, posError(data, dec.InputOffset(), fmt.Errorf("expected a key, got %v", tok))
		}
		keyStart := before + bytes.IndexByte(data[before:], '"')
		afterKey := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, posError(data, dec.InputOffset(), fmt.Errorf("value of %q: %w", key, err))
		}
		end := int(dec.InputOffset())
		start := afterKey
		for start < end && (isSpace(data[start]) || data[start] == ':') {
			start++
		}
		if seen[key] {
			line, col := lineCol(data, keyStart)
			return nil, &PosError{Line: line, Column: col, Err: fmt.Errorf("directive %q appears twice", key)}
		}
		seen[key] = true
		line, col := lineCol(data, keyStart)
		d.Directives = append(d.Directives, Directive{Key: key, Raw: raw, KeyStart: keyStart, ValueStart: start, ValueEnd: end, Line: line, Column: col})
	}
	if _, err := dec.Token(); err != nil {
		return nil, posError(data, dec.InputOffset(), err)
	}
	d.Close = int(dec.InputOffset()) - 1
	if _, err := dec.Token(); err != io.EOF {
		return nil, posError(data, dec.InputOffset(), errors.New("text after the closing brace"))
	}
	return d, nil
}

// BenchmarkParseDaemonJSON40k parses a daemon.json of 40,000 keys with the
// old quadratic position finding and the linear ParseDaemonJSON, in the
// same run; "resolve" is the whole docker.config resolution of that file.
func BenchmarkParseDaemonJSON40k(b *testing.B) {
	data := bigDaemonJSON(40000)
	b.Run("old-quadratic", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := parseDaemonJSONOld(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-linear", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := ParseDaemonJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolve", func(b *testing.B) {
		fsys := fstest.MapFS{"etc/docker/daemon.json": {Data: data}}
		for b.Loop() {
			Resolve(fsys, nil)
		}
	})
}

// TestParseDaemonJSONLinear: 40,000 keys parse with positions equal to
// counting from the start, well within a source's time.
func TestParseDaemonJSONLinear(t *testing.T) {
	data := bigDaemonJSON(40000)
	start := time.Now()
	d, err := ParseDaemonJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("parsing 40,000 keys took %s", took)
	}
	for _, i := range []int{0, 1, 20000, 39999} {
		x := d.Directives[i]
		if line, col := lineCol(data, x.KeyStart); x.Line != line || x.Column != col || x.Line != i+2 || x.Column != 3 {
			t.Errorf("key %d at %d:%d, want %d:%d", i, x.Line, x.Column, line, col)
		}
	}
	// A second key on the same line keeps its column.
	d, err = ParseDaemonJSON([]byte("{\"a\": 1, \"b\": 2,\n\t\"c\": 3}"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range d.Directives {
		got = append(got, fmt.Sprintf("%s@%d:%d", x.Key, x.Line, x.Column))
	}
	if s := strings.Join(got, " "); s != "a@1:2 b@1:10 c@2:2" {
		t.Errorf("positions %s", s)
	}
}

// BenchmarkDiffDaemonJSON: the planned edit's diff of one key added to a
// daemon.json, with the old full table (every line against every line) and
// editScript, in the same run. The old table at 40,000 lines needs 6.4 GB,
// so the pair is compared at 4,000 lines; 40,000 runs with the new code.
func BenchmarkDiffDaemonJSON(b *testing.B) {
	for _, n := range []int{4000, 40000} {
		old := bigDaemonJSON(n)
		d, err := ParseDaemonJSON(old)
		if err != nil {
			b.Fatal(err)
		}
		edited, err := d.Set("log-opts", map[string]string{"max-size": "100m"})
		if err != nil {
			b.Fatal(err)
		}
		a, e := splitLines(string(old)), splitLines(string(edited))
		if n <= 4000 {
			b.Run(fmt.Sprintf("old-full-table-%d", n), func(b *testing.B) {
				for b.Loop() {
					lcsScript(a, e, 0, 0)
				}
			})
		}
		b.Run(fmt.Sprintf("new-%d", n), func(b *testing.B) {
			for b.Loop() {
				UnifiedDiff("/etc/docker/daemon.json", string(old), string(edited))
			}
		})
	}
}
