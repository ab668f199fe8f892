package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// BusyboxTag names the image BusyboxImage imports.
const BusyboxTag = "ksdoctor/busybox:test"

// containerParallelism bounds concurrent container operations (the machines
// running the tests have two cores).
const containerParallelism = 4

var (
	busyboxOnce sync.Once
	busyboxTar  []byte
	busyboxErr  error
)

// busyboxPath returns a statically linked busybox binary.
func busyboxPath() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := lookPath("busybox"); err == nil {
		return p
	}
	return "busybox"
}

// buildBusyboxTar makes the root file system: /bin/busybox with a symlink per
// applet, /etc/passwd, /etc/group and a /tmp.
func buildBusyboxTar() ([]byte, error) {
	bin := busyboxPath()
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bin, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			return nil, fmt.Errorf("%s is dynamically linked; install busybox-static", bin)
		}
	}
	f.Close()
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	list, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []error{
		dir("bin", 0o755), dir("etc", 0o755), dir("root", 0o700), dir("tmp", 0o1777), dir("www", 0o755),
		file("bin/busybox", 0o755, body),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")),
		file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
	}
	for _, app := range strings.Fields(string(list)) {
		if app == "busybox" || strings.Contains(app, "/") {
			continue
		}
		steps = append(steps, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + app, Linkname: "busybox", Mode: 0o777, ModTime: mtime}))
	}
	steps = append(steps, tw.Close())
	if err := errors.Join(steps...); err != nil {
		return nil, fmt.Errorf("write busybox tar: %w", err)
	}
	return buf.Bytes(), nil
}

// BusyboxImage imports (once per daemon) a busybox image made from the host's
// busybox-static binary, with a symlink in /bin for every applet (sh, sleep,
// wget, nc, httpd, timeout, ip, ...), PATH=/bin and CMD sh, tagged
// BusyboxTag, and returns the tag. The tar is built once per process.
func (d *Dockerd) BusyboxImage(t testing.TB) string {
	t.Helper()
	if err := d.busyboxImage(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return BusyboxTag
}

func (d *Dockerd) busyboxImage() error {
	busyboxOnce.Do(func() { busyboxTar, busyboxErr = buildBusyboxTar() })
	if busyboxErr != nil {
		return busyboxErr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.ImageInspect(ctx, BusyboxTag); err == nil {
		return nil
	}
	rc, err := c.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(busyboxTar), SourceName: "-"}, BusyboxTag,
		image.ImportOptions{Changes: []string{"ENV PATH=/bin", `CMD ["sh"]`}})
	if err != nil {
		return fmt.Errorf("import busybox image: %w", err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("import busybox image: %w", err)
	}
	if bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("import busybox image: %s", out)
	}
	return nil
}

// ContainerSpec describes one container for RunMany.
type ContainerSpec struct {
	Name     string   // "" lets Docker choose; otherwise at least two characters
	Running  bool     // true: keep running (`sleep 3600` unless Cmd is set)
	ExitCode int      // when not Running: exit with this code
	Cmd      []string // overrides the command
	Labels   map[string]string
}

// RunExited runs a busybox container that exits with exitCode, waits until it
// has exited, and returns its ID.
func (d *Dockerd) RunExited(t testing.TB, name string, exitCode int) string {
	t.Helper()
	return d.RunMany(t, []ContainerSpec{{Name: name, ExitCode: exitCode}})[0]
}

// RunSleeping runs a busybox container running `sleep 3600` (with a 1 s stop
// timeout) and returns its ID.
func (d *Dockerd) RunSleeping(t testing.TB, name string) string {
	t.Helper()
	return d.RunMany(t, []ContainerSpec{{Name: name, Running: true}})[0]
}

// RunMany creates and starts the containers through the API, a few at a
// time, waits until those that should exit have exited, and returns their
// IDs in the order of specs. Containers are not removed at the end: they go
// with the daemon's data root.
func (d *Dockerd) RunMany(t testing.TB, specs []ContainerSpec) []string {
	t.Helper()
	if err := d.busyboxImage(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	c, err := client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("testbed: docker client: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := make([]string, len(specs))
	errs := make([]error, len(specs))
	sem := make(chan struct{}, containerParallelism)
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids[i], errs[i] = runContainer(ctx, c, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return ids
}

func runContainer(ctx context.Context, c *client.Client, s ContainerSpec) (string, error) {
	cmd := s.Cmd
	if cmd == nil {
		cmd = []string{"sleep", "3600"}
		if !s.Running {
			cmd = []string{"sh", "-c", fmt.Sprintf("exit %d", s.ExitCode)}
		}
	}
	stop := 1
	cfg := &container.Config{Image: BusyboxTag, Cmd: cmd, Labels: s.Labels, StopTimeout: &stop}
	created, err := c.ContainerCreate(ctx, cfg, &container.HostConfig{}, nil, nil, s.Name)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", s.Name, err)
	}
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return created.ID, fmt.Errorf("start container %q: %w", s.Name, err)
	}
	if s.Running {
		return created.ID, nil
	}
	waitC, errC := c.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.Error != nil {
			return created.ID, fmt.Errorf("wait for container %q: %s", s.Name, w.Error.Message)
		}
		if s.Cmd == nil && int(w.StatusCode) != s.ExitCode {
			return created.ID, fmt.Errorf("container %q exited with %d, want %d", s.Name, w.StatusCode, s.ExitCode)
		}
	case err := <-errC:
		return created.ID, fmt.Errorf("wait for container %q: %w", s.Name, err)
	}
	return created.ID, nil
}
