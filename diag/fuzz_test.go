package diag

import (
	"testing"
	"time"
)

// FuzzParseConfig: any --config content is refused with an error or gives
// a configuration whose thresholds and timeouts are usable.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("disk:\n  warnPercent: 80\n  criticalPercent: 90\ntimeouts:\n  source: 5s\n  sweep: 30s\n"))
	f.Add([]byte("exitedContainers:\n  warnCount: 10\n  warnBytes: 1073741824\ncluster:\n  certExpiryDays: 14\n"))
	f.Add([]byte("disk: {warnPercent: 70"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.Timeouts.Source.Duration <= 0 || c.Timeouts.Sweep.Duration <= 0 || c.Timeouts.Sweep.Duration > 24*time.Hour*365 {
			t.Fatalf("unusable timeouts %+v from %q", c.Timeouts, data)
		}
	})
}
