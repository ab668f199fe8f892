package gather

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// Options says where to look.
type Options struct {
	// HostRoot prefixes every host path ("/" on the node, "/host" in a pod).
	HostRoot string
	// DockerHost is the Docker Engine address (unix:///var/run/docker.sock).
	DockerHost string
	// SourceTimeout bounds each source; SweepTimeout the whole gathering.
	SourceTimeout time.Duration
	SweepTimeout  time.Duration
	// DockerdPIDFile is dockerd's pidfile as the node sees it
	// (default /var/run/docker.pid); without it /proc is scanned.
	DockerdPIDFile string
	// Probe enables the active network probe (source net.probe): a
	// throwaway container from ProbeImage tries to reach ProbeTarget
	// (HOST:PORT; default the node's default gateway, port 80).
	Probe       bool
	ProbeImage  string
	ProbeTarget string
	// Kubeconfig and KubeContext choose the cluster ("" takes the standard
	// loading rules: $KUBECONFIG, ~/.kube/config, in-cluster).
	Kubeconfig  string
	KubeContext string
	// KubeCluster, KubeUser and KubeRequestTimeout override the context's
	// cluster, user and per-request timeout, as kubectl's --cluster,
	// --user and --request-timeout do ("" keeps the kubeconfig's).
	KubeCluster        string
	KubeUser           string
	KubeRequestTimeout string
}

// Gatherer collects facts into snapshots.
type Gatherer struct {
	opts Options

	mu     sync.Mutex
	docker *client.Client
}

// New returns a Gatherer for opts, with defaults filled in.
func New(opts Options) *Gatherer {
	if opts.HostRoot == "" {
		opts.HostRoot = "/"
	}
	if opts.DockerHost == "" {
		opts.DockerHost = client.DefaultDockerHost
	}
	if opts.DockerdPIDFile == "" {
		opts.DockerdPIDFile = "/var/run/docker.pid"
	}
	if opts.SourceTimeout <= 0 {
		opts.SourceTimeout = 5 * time.Second
	}
	if opts.SweepTimeout <= 0 {
		opts.SweepTimeout = 30 * time.Second
	}
	return &Gatherer{opts: opts}
}

// Options returns the options in effect.
func (g *Gatherer) Options() Options { return g.opts }

// Root is the host root: every host path is opened through it (package hostfs).
func (g *Gatherer) Root() hostfs.Root {
	return hostfs.New(g.opts.HostRoot)
}

// DockerClient returns the shared Docker API client, created on first use.
// It negotiates the API version, since nodes often run Docker 19.03–20.10.
func (g *Gatherer) DockerClient() (*client.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.docker != nil {
		return g.docker, nil
	}
	c, err := client.NewClientWithOpts(client.WithHost(g.opts.DockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", g.opts.DockerHost, err)
	}
	g.docker = c
	return c, nil
}

// Close releases the Docker client.
func (g *Gatherer) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.docker == nil {
		return nil
	}
	err := g.docker.Close()
	g.docker = nil
	return err
}

// sourceFunc gathers one source. It may read the fields of s that its
// dependencies filled, and returns a function that stores its result in the
// snapshot (nil when there is nothing to store): results are stored only
// when the source finished within its deadline, so an abandoned gatherer
// never writes to a snapshot that checks are reading.
type sourceFunc func(ctx context.Context, g *run, s *diag.Snapshot) (store func(*diag.Snapshot), err error)

type sourceDef struct {
	deps []diag.Source
	fn   sourceFunc
	// minTimeout raises the per-source deadline for a source that waits on
	// something slow by design (the probe's container start and connect).
	minTimeout time.Duration
}

// sources is the explicit registry of what can be gathered.
var sources = map[diag.Source]sourceDef{
	diag.SourceHost:          {fn: gatherHost},
	diag.SourceDocker:        {fn: gatherDocker},
	diag.SourceDockerSizes:   {deps: []diag.Source{diag.SourceDocker}, fn: gatherDockerSizes},
	diag.SourceDockerStopped: {deps: []diag.Source{diag.SourceDocker}, fn: gatherDockerStopped},
	diag.SourceDockerDisk:    {deps: []diag.Source{diag.SourceDocker}, fn: gatherDockerDisk},
	diag.SourceFilesystems:   {deps: []diag.Source{diag.SourceDocker}, fn: gatherFilesystems},
	diag.SourceDockerdProc:   {fn: gatherDockerdProcess},
	diag.SourceNetwork:       {fn: gatherNetwork},
	diag.SourceNetProbe:      {deps: []diag.Source{diag.SourceNetwork, diag.SourceDocker}, fn: gatherNetProbe, minTimeout: 30 * time.Second},
	diag.SourceDockerConf:    {deps: []diag.Source{diag.SourceDockerdProc}, fn: gatherDockerConf},
	diag.SourceCluster:       {deps: []diag.Source{diag.SourceHost}, fn: gatherCluster},
	diag.SourceSystemd:       {fn: gatherSystemd},
}

// NewSnapshot returns an empty snapshot stamped with tool and start time.
func (g *Gatherer) NewSnapshot(tool diag.Tool) *diag.Snapshot {
	return &diag.Snapshot{
		SchemaVersion: diag.SchemaVersion,
		Tool:          tool,
		HostRoot:      g.opts.HostRoot,
		DockerHost:    g.opts.DockerHost,
		StartedAt:     time.Now().UTC().Truncate(time.Millisecond),
		Sources:       map[diag.Source]*diag.SourceStatus{},
	}
}

// Progress, when set, hears about each source as it finishes.
type Progress func(diag.SourceStatus)

// Collect gathers the sources the checks need, then the expensive sources
// the checks want given those facts, into a new snapshot.
func (g *Gatherer) Collect(ctx context.Context, tool diag.Tool, checks []diag.Check, cfg *diag.Config, progress Progress) *diag.Snapshot {
	return g.CollectWithInputs(ctx, tool, checks, cfg, nil, progress)
}

// CollectWithInputs is Collect with user-supplied remediation inputs
// recorded in the snapshot, where sources and checks can read them.
func (g *Gatherer) CollectWithInputs(ctx context.Context, tool diag.Tool, checks []diag.Check, cfg *diag.Config, inputs map[string]string, progress Progress) *diag.Snapshot {
	ctx, cancel := context.WithTimeout(ctx, g.opts.SweepTimeout)
	defer cancel()
	snap := g.NewSnapshot(tool)
	snap.Inputs = inputs
	r := &run{Gatherer: g, clusterAreas: diag.ClusterAreasFor(checks)}
	// Host facts are always gathered: every report names its node.
	r.gather(ctx, snap, append([]diag.Source{diag.SourceHost}, diag.SourcesFor(checks)...), progress)
	if more := diag.WantedSources(checks, snap, cfg); len(more) > 0 {
		r.gather(ctx, snap, more, progress)
	}
	snap.FinishedAt = time.Now().UTC().Truncate(time.Millisecond)
	return snap
}

// Gather fills snap with the requested sources (and their dependencies)
// that it does not hold yet. Independent sources run concurrently; each
// gets its own deadline. Failures are recorded in snap.Sources. The
// cluster source reads every area of the cluster.
func (g *Gatherer) Gather(ctx context.Context, snap *diag.Snapshot, want []diag.Source, progress Progress) {
	(&run{Gatherer: g}).gather(ctx, snap, want, progress)
}

// run is one gathering pass: the Gatherer and what this pass's checks
// read of the sources that serve several checks.
type run struct {
	*Gatherer
	// clusterAreas are the parts of the cluster the checks read
	// (diag.ClusterArea*); nil reads all.
	clusterAreas []string
}

func (g *run) gather(ctx context.Context, snap *diag.Snapshot, want []diag.Source, progress Progress) {
	todo := closure(want)
	var mu sync.Mutex // guards snap.Sources and progress
	done := map[diag.Source]chan struct{}{}
	for _, src := range todo {
		done[src] = make(chan struct{})
	}
	// Which sources an earlier pass gathered is read before any goroutine
	// starts: they write snap.Sources as they finish.
	earlier := map[diag.Source]bool{}
	for _, src := range todo {
		if st, ok := snap.Sources[src]; ok && st != nil {
			earlier[src] = true
		}
	}
	var wg sync.WaitGroup
	for _, src := range todo {
		if earlier[src] {
			close(done[src]) // gathered in an earlier pass
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[src])
			def := sources[src]
			for _, d := range def.deps {
				if ch, ok := done[d]; ok {
					select {
					case <-ch:
					case <-ctx.Done():
					}
				}
			}
			st, store := g.runSource(ctx, src, def, snap)
			mu.Lock()
			if store != nil {
				store(snap)
			}
			snap.Sources[src] = &st
			if progress != nil {
				progress(st)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
}

func (g *run) runSource(ctx context.Context, src diag.Source, def sourceDef, snap *diag.Snapshot) (st diag.SourceStatus, store func(*diag.Snapshot)) {
	st.Source = src
	start := time.Now()
	defer func() { st.DurationMs = time.Since(start).Milliseconds() }()
	if def.fn == nil {
		st.Error = "no gatherer for this source in this build"
		return st, nil
	}
	if err := ctx.Err(); err != nil {
		st.Error = "sweep deadline passed before this source ran"
		return st, nil
	}
	timeout := max(g.opts.SourceTimeout, def.minTimeout)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		store func(*diag.Snapshot)
		err   error
	}
	resc := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				resc <- result{err: fmt.Errorf("gatherer panicked: %v", p)}
			}
		}()
		store, err := def.fn(sctx, g, snap)
		resc <- result{store, err}
	}()
	var err error
	select {
	case r := <-resc:
		store, err = r.store, r.err
	case <-sctx.Done():
		// A gatherer stuck in a syscall that ignores ctx must not hold the
		// sweep past its deadline; its result is dropped.
		err = sctx.Err()
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		st.Error = err.Error()
		var absent *diag.AbsentError
		st.Absent = errors.As(err, &absent)
		return st, store
	}
	st.OK = true
	return st, store
}

// closure returns want plus every dependency, dependencies first.
func closure(want []diag.Source) []diag.Source {
	var out []diag.Source
	var visit func(diag.Source)
	visit = func(s diag.Source) {
		if slices.Contains(out, s) {
			return
		}
		for _, d := range sources[s].deps {
			visit(d)
		}
		out = append(out, s)
	}
	for _, s := range want {
		visit(s)
	}
	return out
}
