// Command ksdt-mkexited prepares a benchmark run: it removes every stopped
// container of a test dockerd, then creates COUNT containers that exit at
// once, through the Engine API with a bounded concurrency.
//
//	ksdt-mkexited DOCKER_HOST IMAGE COUNT
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ksdt-mkexited: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: ksdt-mkexited DOCKER_HOST IMAGE COUNT")
	}
	count, err := strconv.Atoi(args[2])
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
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
