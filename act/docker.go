package act

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DockerAPI is the part of the Docker Engine API the executor uses.
type DockerAPI interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ImageRemove(ctx context.Context, id string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	BuildCachePrune(ctx context.Context, opts build.CachePruneOptions) (*build.CachePruneReport, error)
}

var errNoDocker = errors.New("the Docker daemon is not reachable")

// removeContainer removes a container that was exited at preview time. It
// never forces, so the daemon itself, atomically, refuses to remove a
// container that was started again in between; that refusal is reported as
// skipped and the container is left alone. No inspect round trip is needed
// before the removal, which keeps a fix of hundreds of containers as fast
// as `docker rm`.
func removeContainer(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	t := st.Container
	if t == nil {
		return effect{}, fmt.Errorf("step has no container")
	}
	if e.Docker == nil {
		return effect{}, errNoDocker
	}
	err := e.Docker.ContainerRemove(ctx, t.ID, container.RemoveOptions{})
	switch {
	case err == nil:
		return done("removed "+t.Name, nil), nil
	case cerrdefs.IsNotFound(err):
		return noop("already gone"), nil
	case cerrdefs.IsConflict(err):
		state := "no longer exited"
		if in, ierr := e.Docker.ContainerInspect(ctx, t.ID); ierr == nil && in.State != nil {
			state = in.State.Status + " now"
		}
		return skipped(fmt.Sprintf("%s is %s: left alone", t.Name, state)), nil
	}
	return effect{}, fmt.Errorf("remove %s: %w", t.Name, err)
}

func removeImage(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	t := st.Image
	if t == nil {
		return effect{}, fmt.Errorf("step has no image")
	}
	if e.Docker == nil {
		return effect{}, errNoDocker
	}
	_, err := e.Docker.ImageRemove(ctx, t.ID, image.RemoveOptions{PruneChildren: true})
	if cerrdefs.IsNotFound(err) {
		return noop("already gone"), nil
	}
	if cerrdefs.IsConflict(err) {
		return skipped("in use now: " + err.Error()), nil
	}
	if err != nil {
		return effect{}, fmt.Errorf("remove image %s: %w", diag.ShortID(t.ID), err)
	}
	return done("removed image "+diag.ShortID(t.ID), nil), nil
}

func pruneBuildCache(ctx context.Context, e *execution, _ diag.Step) (effect, error) {
	if e.Docker == nil {
		return effect{}, errNoDocker
	}
	rep, err := e.Docker.BuildCachePrune(ctx, build.CachePruneOptions{})
	if err != nil {
		return effect{}, fmt.Errorf("prune build cache: %w", err)
	}
	if rep == nil || len(rep.CachesDeleted) == 0 {
		return noop("no unused build cache"), nil
	}
	return done(fmt.Sprintf("pruned %d build-cache records, %d bytes", len(rep.CachesDeleted), rep.SpaceReclaimed), nil), nil
}
