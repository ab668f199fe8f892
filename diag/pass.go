package diag

import (
	"fmt"
	"slices"
	"time"
)

// Pass is one run of one check over one snapshot, as go/analysis hands an
// analyzer its Pass: the check knows its own identity through it (finding
// and remediation IDs are made from the check's ID, never retyped), reads
// the snapshot's facts only through it, and links to the checks it
// declared in CausedBy. The Pass records which sources the check read, so
// a test can hold the declared sources to the sources read.
type Pass struct {
	// Check is the check being run.
	Check *Check
	// Config is the sweep's configuration (never nil).
	Config *Config
	snap   *Snapshot
	read   map[Source]bool
}

// NewPass prepares a run of c over s. A nil cfg means the defaults.
func NewPass(c *Check, s *Snapshot, cfg *Config) *Pass {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	return &Pass{Check: c, Config: cfg, snap: s, read: map[Source]bool{}}
}

// FindingID is the ID of the check's finding about subject: the check's ID
// alone for "", else "check-id/subject".
func (p *Pass) FindingID(subject string) string { return joinID(p.Check.ID, subject) }

// RemediationID is the ID of the check's remediation named action:
// "check-id/action".
func (p *Pass) RemediationID(action string) string { return p.Check.ID + "/" + action }

// CausedBy is the finding ID of cause's finding about subject, for a
// finding's CausedBy. cause must be listed in the check's CausedBy: a link
// the check did not declare is a programming error, and panics (the engine
// reports the check as errored).
func (p *Pass) CausedBy(cause *Check, subject string) string {
	if !slices.ContainsFunc(p.Check.CausedBy, func(c *Check) bool { return c.ID == cause.ID }) {
		panic(fmt.Sprintf("check %s links to %s, which its CausedBy does not declare", p.Check.ID, cause.ID))
	}
	return joinID(cause.ID, subject)
}

func joinID(id, subject string) string {
	if subject == "" {
		return id
	}
	return id + "/" + subject
}

// Read lists the sources the check has read so far, sorted.
func (p *Pass) Read() []Source {
	out := make([]Source, 0, len(p.read))
	for s := range p.read {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func (p *Pass) use(src Source) { p.read[src] = true }

// read records that the check read src and returns v, a fact of src.
func read[T any](p *Pass, src Source, v T) T {
	p.use(src)
	return v
}

// Now is the sweep's notion of the current time (Snapshot.Now).
func (p *Pass) Now() time.Time { return p.snap.Now() }

// Input is a value the user supplied for a remediation (Snapshot.Inputs).
func (p *Pass) Input(key string) string { return p.snap.Inputs[key] }

// DockerHost is the Docker Engine address the sweep used.
func (p *Pass) DockerHost() string { return p.snap.DockerHost }

// Status is how gathering src went (nil when it was not tried).
func (p *Pass) Status(src Source) *SourceStatus { return read(p, src, p.snap.Sources[src]) }

// Has reports whether src was gathered successfully.
func (p *Pass) Has(src Source) bool { return read(p, src, p.snap.Has(src)) }

// SourceError returns why src is unusable, or nil.
func (p *Pass) SourceError(src Source) error { return read(p, src, p.snap.SourceError(src)) }

// Host returns the host facts (source host).
func (p *Pass) Host() *HostFacts { return read(p, SourceHost, p.snap.Host) }

// Docker returns what the Docker Engine API said (source docker).
func (p *Pass) Docker() *DockerFacts { return read(p, SourceDocker, p.snap.Docker) }

// DockerDisk returns Docker's disk-usage breakdown (source docker.df).
func (p *Pass) DockerDisk() *DockerDiskUsage { return read(p, SourceDockerDisk, p.snap.DockerDisk) }

// FilesystemFor returns the filesystem gathered for purpose (source fs).
func (p *Pass) FilesystemFor(purpose string) (Filesystem, bool) {
	p.use(SourceFilesystems)
	return p.snap.FilesystemFor(purpose)
}

// Filesystems returns every filesystem gathered (source fs).
func (p *Pass) Filesystems() []Filesystem { return read(p, SourceFilesystems, p.snap.Filesystems) }

// Dockerd returns the running dockerd (source dockerd.process).
func (p *Pass) Dockerd() *DockerdProcess { return read(p, SourceDockerdProc, p.snap.Dockerd) }

// Network returns the network facts (source net).
func (p *Pass) Network() *NetFacts { return read(p, SourceNetwork, p.snap.Network) }

// DockerConf returns dockerd's configuration as the files give it (source docker.config).
func (p *Pass) DockerConf() *DockerConfFacts { return read(p, SourceDockerConf, p.snap.DockerConf) }

// Cluster returns the cluster facts (source cluster).
func (p *Pass) Cluster() *ClusterFacts { return read(p, SourceCluster, p.snap.Cluster) }

// Systemd returns docker.service as systemd holds it (source systemd).
func (p *Pass) Systemd() *SystemdFacts { return read(p, SourceSystemd, p.snap.Systemd) }

// Judge runs c over s outside a sweep (tests, tools): the same pass and
// finding stamps as Run gives it, without the source gate (judgeable).
func (c *Check) Judge(s *Snapshot, cfg *Config) ([]Finding, error) {
	return c.judge(NewPass(c, s, cfg))
}

// judge runs the check on p, names it on its findings and refuses a
// malformed plan.
func (c *Check) judge(p *Pass) ([]Finding, error) {
	fs, err := c.Run(p)
	stamp(c, fs)
	if err == nil {
		err = checkPlans(fs)
	}
	return fs, err
}

// stamp names the check on each of its findings and gives a finding
// without an ID the check's own.
func stamp(c *Check, fs []Finding) {
	for i := range fs {
		fs[i].Check = c.ID
		if fs[i].ID == "" {
			fs[i].ID = c.ID
		}
	}
}

// checkPlans refuses a remediation whose plan has a step without exactly
// the payload its kind uses: a check that plans one has a bug, and the
// executor must never be handed it.
func checkPlans(fs []Finding) error {
	for _, f := range fs {
		for _, r := range f.Remediations {
			if err := r.Plan.Validate(); err != nil {
				return fmt.Errorf("remediation %s: %w", r.ID, err)
			}
		}
	}
	return nil
}
