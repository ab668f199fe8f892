package iptsave

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrorsCapped: 300,000 bad lines make one short error, the first
// MaxErrors lines and a count of the rest, not megabytes.
func TestParseErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("*nat\n:POSTROUTING ACCEPT [0:0]\n")
	for range 300_000 {
		b.WriteString("garbage line that is not a rule at all, repeated\n")
	}
	b.WriteString("COMMIT\n")
	_, err := ParseBytes([]byte(b.String()))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T, want *Errors", err)
	}
	if len(errs.First) != MaxErrors || errs.More != 300_000-MaxErrors {
		t.Errorf("kept %d, counted %d more", len(errs.First), errs.More)
	}
	if n := len(err.Error()); n > 4000 {
		t.Errorf("error is %d bytes", n)
	}
	if !strings.HasSuffix(err.Error(), "and 299980 more") {
		t.Errorf("error does not count the rest: …%s", err.Error()[len(err.Error())-40:])
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 {
		t.Errorf("first line error: %+v", le)
	}
}
