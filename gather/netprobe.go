package gather

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DefaultProbeImage is the image the probe runs when none is named; it must
// already be on the node: the probe never pulls.
const DefaultProbeImage = "busybox:latest"

// probeWait bounds the probe's connect inside the container (nc -w).
const probeWait = 3

// gatherNetProbe starts a throwaway container on Docker's default bridge
// that connects to TARGET with "nc -w 3 HOST PORT" (argv, no shell; nc is
// in every busybox, and busybox-static's wget crashes resolving names),
// records whether the target answered (a connection or a refused one
// proves packets came back; a timeout or no route does not), and removes
// the container. Without a
// local image it records why it was skipped instead.
func gatherNetProbe(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	p := &diag.NetProbe{Image: g.opts.ProbeImage, Target: g.opts.ProbeTarget}
	if p.Image == "" {
		p.Image = DefaultProbeImage
	}
	store := func(s *diag.Snapshot) {
		if s.Network != nil {
			s.Network.Probe = p
		}
	}
	if s.Network == nil {
		return nil, fmt.Errorf("network facts are missing")
	}
	if p.Target == "" {
		gw := s.Network.DefaultRoute()
		if gw == nil || gw.Gateway == "" {
			p.Skipped = "no default gateway to probe; pass --probe-target HOST:PORT"
			return store, nil
		}
		p.Target = net.JoinHostPort(gw.Gateway, "80")
	}
	if err := ValidateProbeTarget(p.Target); err != nil {
		return nil, err
	}
	if s.Docker == nil || !s.Docker.Reachable {
		p.Skipped = "the Docker daemon is not reachable"
		return store, nil
	}
	cli, err := g.DockerClient()
	if err != nil {
		return nil, err
	}
	if _, err := cli.ImageInspect(ctx, p.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			p.Skipped = fmt.Sprintf("no local image %s (the probe never pulls); load one with nc, e.g. 'docker pull busybox', or pass --probe-image", p.Image)
			return store, nil
		}
		return nil, fmt.Errorf("inspect probe image %s: %w", p.Image, err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "ksdoctor-probe-" + hex.EncodeToString(suffix)
	host, port, _ := net.SplitHostPort(p.Target)
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:  p.Image,
		Cmd:    []string{"nc", "-w", strconv.Itoa(probeWait), host, port},
		Labels: map[string]string{"io.ksdoctor.probe": "true"},
	}, &container.HostConfig{NetworkMode: "bridge"}, nil, nil, name)
	if err != nil {
		return nil, fmt.Errorf("create probe container: %w", err)
	}
	// The container is ours and short-lived: remove it whatever happens.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = cli.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true})
	}()
	start := time.Now()
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start probe container: %w", err)
	}
	waitc, errc := cli.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	var code int64
	select {
	case w := <-waitc:
		code = w.StatusCode
	case err := <-errc:
		return nil, fmt.Errorf("wait for probe container: %w", err)
	}
	p.DurationMs = time.Since(start).Milliseconds()
	if rc, err := cli.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true}); err == nil {
		var out bytes.Buffer
		_, _ = stdcopy.StdCopy(&out, &out, rc)
		rc.Close()
		p.Output = strings.TrimSpace(out.String())
		if len(p.Output) > 500 {
			p.Output = p.Output[:500] + "…"
		}
	}
	p.Reachable = probeReached(code, p.Output)
	return store, nil
}

// probeReached judges nc's exit: a connection or a refused one both mean
// packets came back.
func probeReached(code int64, output string) bool {
	return code == 0 || strings.Contains(strings.ToLower(output), "connection refused")
}
