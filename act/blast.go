package act

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// runningContainers lists the names of the running containers, or nil when
// the Docker API cannot list them.
func (e *Executor) runningContainers(ctx context.Context) ([]string, bool) {
	l, ok := e.Docker.(lister)
	if !ok || e.Docker == nil {
		return nil, false
	}
	cs, err := l.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, false
	}
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, true
}

// noteRunningBefore records the running containers before a restart, so the
// wait for the Docker API afterwards can say what the restart really did.
func (e *execution) noteRunningBefore(ctx context.Context) {
	names, ok := e.runningContainers(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runningBefore, e.runningKnown = names, ok
}

// blastRadiusOutcome compares the running containers after the restart with
// those before it: the preview's blast radius against what happened.
func (e *execution) blastRadiusOutcome(ctx context.Context) string {
	e.mu.Lock()
	before, known := e.runningBefore, e.runningKnown
	e.mu.Unlock()
	if !known {
		return ""
	}
	after, ok := e.runningContainers(ctx)
	if !ok {
		return "; running containers after the restart: unknown"
	}
	var gone []string
	for _, n := range before {
		if !slices.Contains(after, n) {
			gone = append(gone, n)
		}
	}
	s := fmt.Sprintf("; running containers: %d before the restart, %d after", len(before), len(after))
	if len(gone) > 0 {
		if len(gone) > 10 {
			gone = append(gone[:10], fmt.Sprintf("… and %d more", len(gone)-10))
		}
		s += fmt.Sprintf(" (not running again: %s)", strings.Join(gone, ", "))
	}
	return s
}
