package dockerconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Directive is one top-level key of daemon.json with its byte range.
type Directive struct {
	Key string
	// Raw is the JSON value as written.
	Raw json.RawMessage
	// KeyStart is the offset of the key's opening quote; ValueStart and ValueEnd bound
	// the value.
	KeyStart, ValueStart, ValueEnd int
	Line, Column                   int
}

// DaemonJSON is a parsed daemon.json that remembers where each directive is, so edits
// change only the bytes they must.
type DaemonJSON struct {
	Data       []byte
	Directives []Directive
	// Close is the offset of the closing brace of the top-level object.
	Close int
}

// ParseDaemonJSON parses daemon.json as dockerd does (one JSON object; an empty or
// whitespace-only file is an empty configuration). Errors carry the line and column.
func ParseDaemonJSON(data []byte) (*DaemonJSON, error) {
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
	var pos lineCounter
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
		line, col := pos.at(data, keyStart)
		if seen[key] {
			return nil, &PosError{Line: line, Column: col, Err: fmt.Errorf("directive %q appears twice", key)}
		}
		seen[key] = true
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

// Directive returns the directive named key.
func (d *DaemonJSON) Directive(key string) (Directive, bool) {
	for _, x := range d.Directives {
		if x.Key == key {
			return x, true
		}
	}
	return Directive{}, false
}

// Options returns the directives as options with dockerd's rendering of their values.
func (d *DaemonJSON) Options(file string) []diag.DockerOption {
	out := make([]diag.DockerOption, 0, len(d.Directives))
	for _, x := range d.Directives {
		out = append(out, diag.DockerOption{
			Key:   x.Key,
			Value: RenderJSONValue(x.Raw),
			At:    diag.Provenance{Origin: "daemon.json", File: file, Line: x.Line, Column: x.Column},
		})
	}
	return out
}

// RenderJSONValue renders a JSON value as dockerd prints it with %v after decoding it
// into interface{}: "false", "[a b]", "map[max-size:10m]", "1500".
func RenderJSONValue(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	return fmt.Sprintf("%v", v)
}

// PosError is a parse error at a line and column (1-based).
type PosError struct {
	Line, Column int
	Err          error
}

func (e *PosError) Error() string {
	return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
}

func (e *PosError) Unwrap() error { return e.Err }

func posError(data []byte, off int64, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		off = te.Offset
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		off = int64(len(data))
		err = errors.New("unexpected end of file")
	}
	line, col := lineCol(data, int(off))
	return &PosError{Line: line, Column: col, Err: err}
}

func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// lineCounter gives the line and column of increasing offsets, counting
// each byte once: finding every key's position is linear in the file, not
// quadratic as counting from the start for each key would be.
type lineCounter struct {
	off, line, lineStart int
}

func (c *lineCounter) at(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	if c.line == 0 || off < c.off {
		*c = lineCounter{line: 1}
	}
	for {
		i := bytes.IndexByte(data[c.off:off], '\n')
		if i < 0 {
			break
		}
		c.line++
		c.off += i + 1
		c.lineStart = c.off
	}
	c.off = off
	return c.line, off - c.lineStart + 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// indentUnit guesses the indentation of the top-level keys ("  " by default).
func (d *DaemonJSON) indentUnit() string {
	if len(d.Directives) == 0 {
		return "  "
	}
	k := d.Directives[0].KeyStart
	ls := bytes.LastIndexByte(d.Data[:k], '\n') + 1
	ind := string(d.Data[ls:k])
	if strings.TrimLeft(ind, " \t") != "" || ind == "" {
		return "  "
	}
	return ind
}

// marshalValue renders v as JSON indented to sit under a top-level key.
func (d *DaemonJSON) marshalValue(v any) ([]byte, error) {
	ind := d.indentUnit()
	b, err := json.MarshalIndent(v, ind, ind)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return b, nil
}

// Set returns the file with directive key set to v: the value's bytes replaced when the
// key exists, else a new key added last. The rest of the file is kept byte for byte.
func (d *DaemonJSON) Set(key string, v any) ([]byte, error) {
	val, err := d.marshalValue(v)
	if err != nil {
		return nil, err
	}
	var out []byte
	if x, ok := d.Directive(key); ok {
		out = append(out, d.Data[:x.ValueStart]...)
		out = append(out, val...)
		out = append(out, d.Data[x.ValueEnd:]...)
	} else if d.Close < 0 {
		out = fmt.Appendf(nil, "{\n  %s: %s\n}\n", strconv.Quote(key), val)
	} else {
		ind := d.indentUnit()
		entry := fmt.Sprintf("%s%s: %s", ind, strconv.Quote(key), val)
		if len(d.Directives) == 0 {
			out = append(out, d.Data[:d.Close]...)
			out = bytes.TrimRight(out, " \t\r\n")
			out = append(out, '\n')
			out = append(out, entry...)
			out = append(out, '\n')
			out = append(out, d.Data[d.Close:]...)
		} else {
			last := d.Directives[len(d.Directives)-1]
			out = append(out, d.Data[:last.ValueEnd]...)
			out = append(out, ",\n"...)
			out = append(out, entry...)
			out = append(out, d.Data[last.ValueEnd:]...)
		}
	}
	if _, err := ParseDaemonJSON(out); err != nil {
		return nil, fmt.Errorf("edited daemon.json would not parse: %w", err)
	}
	return out, nil
}

// Delete returns the file without directive key (unchanged when absent).
func (d *DaemonJSON) Delete(key string) ([]byte, error) {
	idx := -1
	for i, x := range d.Directives {
		if x.Key == key {
			idx = i
		}
	}
	if idx < 0 {
		return d.Data, nil
	}
	x := d.Directives[idx]
	data := d.Data
	start, end := x.KeyStart, x.ValueEnd
	if idx+1 < len(d.Directives) {
		// Remove through the comma and up to the next key.
		end = d.Directives[idx+1].KeyStart
		ls := bytes.LastIndexByte(data[:start], '\n') + 1
		ns := bytes.LastIndexByte(data[:end], '\n') + 1
		if strings.TrimSpace(string(data[ls:start])) == "" && ns > start {
			start, end = ls, ns
		}
	} else if idx > 0 {
		// The last key: remove from the end of the previous value.
		start = d.Directives[idx-1].ValueEnd
	} else {
		// The only key.
		start = bytes.IndexByte(data, '{') + 1
		end = d.Close
		var out []byte
		out = append(out, data[:start]...)
		out = append(out, '\n')
		out = append(out, data[end:]...)
		return out, nil
	}
	var out []byte
	out = append(out, data[:start]...)
	out = append(out, data[end:]...)
	if _, err := ParseDaemonJSON(out); err != nil {
		return nil, fmt.Errorf("edited daemon.json would not parse: %w", err)
	}
	return out, nil
}

// MapValue decodes a directive whose value is an object of strings (log-opts).
func MapValue(raw json.RawMessage) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", raw, err)
	}
	return m, nil
}
