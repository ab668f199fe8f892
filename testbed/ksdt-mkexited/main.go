// Command ksdt-mkexited prepares a benchmark run: it removes every stopped
// container of a test dockerd, then creates COUNT containers that exit at
// once, through the Engine API with a bounded concurrency. For a big node
// it also creates CREATED containers that are never started and IMAGES
// distinct images (IMAGE's rootfs imported again with its own label, so
// each has its own ID and config while the layer is shared: the cheapest
// real image).
//
//	ksdt-mkexited DOCKER_HOST IMAGE COUNT [CREATED [IMAGES]]
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ksdt-mkexited: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 || len(args) > 5 {
		return fmt.Errorf("usage: ksdt-mkexited DOCKER_HOST IMAGE COUNT [CREATED [IMAGES]]")
	}
	var counts [3]int
	for i, a := range args[2:] {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return fmt.Errorf("count %q: not a number", a)
		}
		counts[i] = n
	}
	count, created, images := counts[0], counts[1], counts[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.WithHost(args[0]), client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	stale, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("status", "exited"))})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if err := each(len(stale), func(i int) error {
		return cli.ContainerRemove(ctx, stale[i].ID, container.RemoveOptions{})
	}); err != nil {
		return err
	}
	stamp := time.Now().UnixNano()
	if err := makeImages(ctx, cli, args[1], images, stamp); err != nil {
		return err
	}
	if err := each(created, func(i int) error {
		_, err := cli.ContainerCreate(ctx, &container.Config{Image: args[1], Cmd: []string{"true"}, Labels: map[string]string{"ksdt.bench": "created"}},
			&container.HostConfig{NetworkMode: "none"}, nil, nil, fmt.Sprintf("created-%d-%d", stamp, i))
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	return each(count, func(i int) error {
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: args[1], Cmd: []string{"true"}}, &container.HostConfig{NetworkMode: "none"}, nil, nil, fmt.Sprintf("bench-%d-%d", stamp, i))
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		waitC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
		select {
		case <-waitC:
			return nil
		case err := <-errC:
			return fmt.Errorf("wait: %w", err)
		}
	})
}

// makeImages imports image's filesystem n times, each with its own label
// and tag.
func makeImages(ctx context.Context, cli *client.Client, img string, n int, stamp int64) error {
	if n == 0 {
		return nil
	}
	// The image's filesystem, exported from a container never started.
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: img}, nil, nil, nil, "")
	if err != nil {
		return fmt.Errorf("create for export: %w", err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{}) //nolint:errcheck // best effort
	rc, err := cli.ContainerExport(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("export %s: %w", img, err)
	}
	rootfs, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("export %s: %w", img, err)
	}
	return each(n, func(i int) error {
		rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"},
			fmt.Sprintf("ksdt/bench-%d:%d", i, stamp), image.ImportOptions{Changes: []string{fmt.Sprintf("LABEL ksdt.bench.image=%d", i), `CMD ["sh"]`}})
		if err != nil {
			return fmt.Errorf("import image %d: %w", i, err)
		}
		defer rc.Close()
		out, err := io.ReadAll(rc)
		if err != nil || bytes.Contains(out, []byte(`"error"`)) {
			return fmt.Errorf("import image %d: %v %s", i, err, out)
		}
		return nil
	})
}

// each runs fn(0..n-1) with 8 workers and returns the first error.
func each(n int, fn func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 8)
	)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
