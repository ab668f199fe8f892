package gather

import (
	"context"
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/sdbus"
)

// dockerSocketUnit is the socket unit Debian's docker.io and Docker's own
// packages ship beside docker.service: systemd listens on /run/docker.sock
// and starts dockerd on the first connection.
const dockerSocketUnit = "docker.socket"

// errWouldStartDocker says why a sweep did not connect to the Docker socket.
type errWouldStartDocker struct{ service, host string }

func (e *errWouldStartDocker) Error() string {
	return fmt.Sprintf("docker.service is %s and %s is listening: connecting to %s would make systemd start dockerd, "+
		"and a sweep only reads (start it with `systemctl start docker`, or fix what stopped it, then sweep again)",
		e.service, dockerSocketUnit, e.host)
}

// guardSocketActivation refuses to dial a Docker socket that systemd would
// answer by starting dockerd: docker.service stopped or failed while
// docker.socket listens. Dialing would change the node (start the daemon, or
// spend a start of a unit near its start limit). Without a systemd bus under
// the host root, or with a Docker address that is not a unix socket, nothing
// would start dockerd and the dial goes ahead.
func (g *Gatherer) guardSocketActivation(ctx context.Context) error {
	if !strings.HasPrefix(g.opts.DockerHost, "unix://") {
		return nil
	}
	bus, err := sdbus.FindSystemdBus(ctx, g.opts.HostRoot)
	if err != nil {
		return nil
	}
	svc, err := bus.ActiveState(ctx, dockerconf.UnitName)
	if err != nil || (svc != "inactive" && svc != "failed") {
		return nil
	}
	if sock, err := bus.ActiveState(ctx, dockerSocketUnit); err != nil || sock != "active" {
		return nil
	}
	return &errWouldStartDocker{service: svc, host: g.opts.DockerHost}
}
