package gather

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"

	"github.com/ksdoctor/ksdoctor/diag"
)

// inspectWorkers bounds concurrent per-container inspects.
const inspectWorkers = 16

var exitedStatus = regexp.MustCompile(`^Exited \((-?\d+)\)`)

func gatherDocker(ctx context.Context, g *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
	facts := &diag.DockerFacts{Address: g.opts.DockerHost}
	store := func(s *diag.Snapshot) { s.Docker = facts }
	fail := func(err error) (func(*diag.Snapshot), error) {
		facts.Error = err.Error()
		return store, err
	}
	if err := g.guardSocketActivation(ctx); err != nil {
		return fail(err)
	}
	cli, err := g.DockerClient()
	if err != nil {
		return fail(err)
	}
	// The three reads are independent: asked at once, the source costs
	// the slowest of them, not their sum (a fix pays it twice: before
	// and in its re-check).
	var (
		info           system.Info
		nw             network.Inspect
		list           []container.Summary
		infoErr, nwErr error
		listErr        error
		wg             sync.WaitGroup
	)
	wg.Go(func() { info, infoErr = cli.Info(ctx) })
	wg.Go(func() { nw, nwErr = cli.NetworkInspect(ctx, "bridge", network.InspectOptions{}) })
	wg.Go(func() { list, listErr = cli.ContainerList(ctx, container.ListOptions{All: true}) })
	wg.Wait()
	if infoErr != nil {
		return fail(fmt.Errorf("docker info: %w", infoErr))
	}
	DockerInfoFacts(info, facts)
	facts.APIVersion = cli.ClientVersion()
	if nwErr == nil {
		DockerBridgeFacts(nw, facts)
	} else if isNotFound(nwErr) {
		facts.Daemon.BridgeAbsent = true // dockerd runs with --bridge=none
	}
	if listErr != nil {
		return fail(fmt.Errorf("list containers: %w", listErr))
	}
	facts.Containers = make([]diag.Container, len(list))
	for i, c := range list {
		facts.Containers[i] = containerFromSummary(c)
	}
	sort.Slice(facts.Containers, func(i, j int) bool { return facts.Containers[i].Name < facts.Containers[j].Name })
	return store, nil
}

func containerFromSummary(c container.Summary) diag.Container {
	name := c.ID
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	out := diag.Container{
		ID:        c.ID,
		Name:      name,
		Image:     c.Image,
		State:     c.State,
		Status:    c.Status,
		CreatedAt: time.Unix(c.Created, 0).UTC(),
		SizeRw:    c.SizeRw,
		Labels:    c.Labels,
	}
	if m := exitedStatus.FindStringSubmatch(c.Status); m != nil {
		out.ExitCode, _ = strconv.Atoi(m[1])
	}
	return out
}

// gatherDockerStopped inspects the containers that are not running for
// what the list API lacks: exit code, finish time and log path. It is a
// source of its own (one request per container: 1,000 exited containers
// are 1,000 inspects), asked for by the checks that show those facts, and
// skipped by a fix, whose plan needs only the IDs.
func gatherDockerStopped(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	if s.Docker == nil || !s.Docker.Reachable {
		return nil, fmt.Errorf("docker is not reachable")
	}
	cli, err := g.DockerClient()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range s.Docker.Containers {
		if c.State == "exited" || c.State == "dead" {
			ids = append(ids, c.ID)
		}
	}
	got, err := inspectStopped(ctx, cli, ids)
	if err != nil {
		return nil, err
	}
	return func(s *diag.Snapshot) {
		for i := range s.Docker.Containers {
			if in, ok := got[s.Docker.Containers[i].ID]; ok {
				c := &s.Docker.Containers[i]
				c.ExitCode, c.FinishedAt, c.LogPath = in.ExitCode, in.FinishedAt, in.LogPath
			}
		}
		s.Docker.StoppedInspected = true
	}, nil
}

// stoppedFacts is what one inspect adds to a stopped container.
type stoppedFacts struct {
	ExitCode   int
	FinishedAt time.Time
	LogPath    string
}

// inspectStopped inspects the containers ids, inspectWorkers at a time. A
// container removed since the list is left out (the list's facts stay).
func inspectStopped(ctx context.Context, cli containerInspector, ids []string) (map[string]stoppedFacts, error) {
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, inspectWorkers)
		mu       sync.Mutex
		firstErr error
		out      = make(map[string]stoppedFacts, len(ids))
	)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			in, err := cli.ContainerInspect(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !isNotFound(err) && firstErr == nil {
					firstErr = fmt.Errorf("inspect container %s: %w", diag.ShortID(id), err)
				}
				return
			}
			var f stoppedFacts
			f.LogPath = in.LogPath
			if in.State != nil {
				f.ExitCode = in.State.ExitCode
				if t, err := time.Parse(time.RFC3339Nano, in.State.FinishedAt); err == nil && t.Year() > 1 {
					f.FinishedAt = t.UTC()
				}
			}
			out[id] = f
		}()
	}
	wg.Wait()
	return out, firstErr
}

type containerInspector interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

func gatherDockerSizes(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	if s.Docker == nil || !s.Docker.Reachable {
		return nil, fmt.Errorf("docker is not reachable")
	}
	cli, err := g.DockerClient()
	if err != nil {
		return nil, err
	}
	// Only stopped containers are sized: their writable layers are what
	// the checks weigh (what removing them frees), and sizing a running
	// container walks a layer that is still being written.
	stopped := filters.NewArgs(filters.Arg("status", "exited"), filters.Arg("status", "dead"))
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Size: true, Filters: stopped})
	if err != nil {
		return nil, fmt.Errorf("list stopped containers with sizes: %w", err)
	}
	sizes := make(map[string]int64, len(list))
	for _, c := range list {
		sizes[c.ID] = c.SizeRw
	}
	return func(s *diag.Snapshot) {
		for i := range s.Docker.Containers {
			if v, ok := sizes[s.Docker.Containers[i].ID]; ok {
				s.Docker.Containers[i].SizeRw = v
			}
		}
		s.Docker.SizesGathered = true
	}, nil
}

func gatherDockerDisk(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	if s.Docker == nil || !s.Docker.Reachable {
		return nil, fmt.Errorf("docker is not reachable")
	}
	cli, err := g.DockerClient()
	if err != nil {
		return nil, err
	}
	du, err := cli.DiskUsage(ctx, types.DiskUsageOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker disk usage: %w", err)
	}
	out := diskUsageFrom(du)
	sizes := map[string]int64{}
	for _, c := range du.Containers {
		if c != nil {
			sizes[c.ID] = c.SizeRw
		}
	}
	return func(s *diag.Snapshot) {
		s.DockerDisk = out
		for i := range s.Docker.Containers {
			if v, ok := sizes[s.Docker.Containers[i].ID]; ok {
				s.Docker.Containers[i].SizeRw = v
			}
		}
		s.Docker.SizesGathered = true
	}, nil
}

// diskUsageFrom converts GET /system/df into the snapshot's breakdown, with
// reclaimable bytes computed as the docker CLI's "system df" does.
func diskUsageFrom(du types.DiskUsage) *diag.DockerDiskUsage {
	out := &diag.DockerDiskUsage{LayersSize: du.LayersSize, Images: []diag.DiskImage{}}
	var imagesInUse int64
	for _, im := range du.Images {
		if im == nil {
			continue
		}
		out.Images = append(out.Images, diag.DiskImage{
			ID: im.ID, RepoTags: im.RepoTags, Size: im.Size, SharedSize: im.SharedSize, Containers: im.Containers,
		})
		if im.Containers > 0 {
			imagesInUse += im.Size - max(im.SharedSize, 0)
		}
	}
	reclaimImages := du.LayersSize - imagesInUse
	if reclaimImages < 0 {
		reclaimImages = 0
	}
	var reclaimContainers int64
	for _, c := range du.Containers {
		if c == nil {
			continue
		}
		out.ContainersRw += c.SizeRw
		if c.State != "running" && c.State != "paused" && c.State != "restarting" {
			reclaimContainers += c.SizeRw
		}
	}
	var reclaimVolumes int64
	for _, v := range du.Volumes {
		if v == nil || v.UsageData == nil {
			continue
		}
		out.Volumes++
		if v.UsageData.Size > 0 {
			out.VolumesSize += v.UsageData.Size
			if v.UsageData.RefCount == 0 {
				reclaimVolumes += v.UsageData.Size
			}
		}
	}
	var reclaimCache int64
	for _, bc := range du.BuildCache {
		if bc == nil {
			continue
		}
		out.BuildCacheSize += bc.Size
		out.BuildCacheItems = append(out.BuildCacheItems, diag.BuildCache{ID: bc.ID, Size: bc.Size, InUse: bc.InUse, Shared: bc.Shared})
		if !bc.InUse && !bc.Shared {
			reclaimCache += bc.Size
		}
	}
	out.Reclaimable = reclaimImages + reclaimContainers + reclaimVolumes + reclaimCache
	return out
}
