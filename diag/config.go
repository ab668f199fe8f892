package diag

import (
	"fmt"
	"time"

	"sigs.k8s.io/yaml"
)

// Config holds thresholds and options, loaded from the YAML file named by
// --config. Zero fields take the defaults.
type Config struct {
	Disk             DiskConfig     `json:"disk"`
	ExitedContainers ExitedConfig   `json:"exitedContainers"`
	Timeouts         TimeoutConfig  `json:"timeouts"`
	Net              NetConfig      `json:"net"`
	DockerBaseline   DockerBaseline `json:"dockerBaseline"`
	Cluster          ClusterConfig  `json:"cluster"`
	// Suppressions silence findings with a reason (see Suppression).
	Suppressions []Suppression `json:"suppressions,omitempty"`
}

// DiskConfig sets the usage thresholds for the Docker data-root filesystem,
// in percent of bytes or inodes.
type DiskConfig struct {
	WarnPercent     float64 `json:"warnPercent"`
	CriticalPercent float64 `json:"criticalPercent"`
}

// ExitedConfig sets when exited containers become a warning rather than
// an observation.
type ExitedConfig struct {
	// WarnCount: this many exited non-Kubernetes containers make a warning.
	WarnCount int `json:"warnCount"`
	// WarnBytes: writable layers of exited containers this large make a warning.
	WarnBytes int64 `json:"warnBytes"`
}

// TimeoutConfig bounds gathering.
type TimeoutConfig struct {
	Source Duration `json:"source"` // each source
	Sweep  Duration `json:"sweep"`  // the whole sweep
}

// Duration is a time.Duration written as "5s" in YAML and JSON.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "5s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("duration %s: want a string such as \"5s\"", s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return fmt.Errorf("duration %s: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %s: must not be negative", s)
	}
	d.Duration = v
	return nil
}

// DefaultConfig returns the built-in thresholds.
func DefaultConfig() *Config {
	c := &Config{}
	c.fill()
	return c
}

func (c *Config) fill() {
	if c.Disk.WarnPercent == 0 {
		c.Disk.WarnPercent = 80
	}
	if c.Disk.CriticalPercent == 0 {
		c.Disk.CriticalPercent = 90
	}
	if c.ExitedContainers.WarnCount == 0 {
		c.ExitedContainers.WarnCount = 10
	}
	if c.ExitedContainers.WarnBytes == 0 {
		c.ExitedContainers.WarnBytes = 1 << 30
	}
	if c.Cluster.CertExpiryDays == 0 {
		c.Cluster.CertExpiryDays = 14
	}
	if c.Timeouts.Source.Duration == 0 {
		c.Timeouts.Source.Duration = 5 * time.Second
	}
	if c.Timeouts.Sweep.Duration == 0 {
		c.Timeouts.Sweep.Duration = 30 * time.Second
	}
}

func (c *Config) validate() error {
	d := c.Disk
	if d.WarnPercent <= 0 || d.WarnPercent > 100 || d.CriticalPercent <= 0 || d.CriticalPercent > 100 {
		return fmt.Errorf("disk thresholds must be between 0 and 100 percent")
	}
	if d.WarnPercent > d.CriticalPercent {
		return fmt.Errorf("disk.warnPercent (%g) is above disk.criticalPercent (%g)", d.WarnPercent, d.CriticalPercent)
	}
	if c.ExitedContainers.WarnCount < 0 || c.ExitedContainers.WarnBytes < 0 {
		return fmt.Errorf("exitedContainers thresholds must not be negative")
	}
	for i, s := range c.Suppressions {
		if err := s.validate(); err != nil {
			return fmt.Errorf("suppression %d (suppressions[%d]): %w", i+1, i, err)
		}
	}
	return nil
}

// ParseConfig reads a YAML configuration; unknown keys are errors so a typo
// is not silently ignored.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	c.fill()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

// ClusterConfig tunes the cluster checks.
type ClusterConfig struct {
	// CertExpiryDays: an Ingress certificate expiring within this many days
	// is a warning (default 14).
	CertExpiryDays int `json:"certExpiryDays"`
}
