package sdbus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// SystemdBus drives the node's systemd over its D-Bus API. The bus socket is
// found under the host root, so a ksdoctor in a pod that mounts the host's /
// (and with it /run) acts through the host's PID 1: the host's systemd does
// the work, with the host's unit files, cgroups and journal.
type SystemdBus struct {
	// HostRoot is where the node's / is mounted ("/" on the node itself).
	HostRoot string
	// Socket is the bus socket's path inside the host root.
	Socket string
	// Private is true for systemd's own socket (/run/systemd/private: no
	// dbus-daemon needed, no Hello), false for the system bus.
	Private bool
}

// busSockets are the sockets systemd answers on, in the order tried: its
// private socket needs no dbus-daemon (minimal nodes and early boot run none).
var busSockets = []struct {
	path    string
	private bool
}{
	{"/run/systemd/private", true},
	{"/run/dbus/system_bus_socket", false},
}

// ErrNoSystemdBus says that no systemd bus socket exists under the host root.
var ErrNoSystemdBus = errors.New("no systemd D-Bus socket under the host root")

// FindSystemdBus returns the node's systemd bus under hostRoot: the first of
// /run/systemd/private and /run/dbus/system_bus_socket that is a socket
// (resolved inside the host root) and answers.
func FindSystemdBus(ctx context.Context, hostRoot string) (*SystemdBus, error) {
	var tried []string
	for _, s := range busSockets {
		b := &SystemdBus{HostRoot: hostRoot, Socket: s.path, Private: s.private}
		conn, err := b.connect(ctx)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", s.path, err))
			continue
		}
		conn.Close()
		return b, nil
	}
	return nil, fmt.Errorf("%w %s (%s)", ErrNoSystemdBus, hostRoot, strings.Join(tried, "; "))
}

// Describe names the bus for previews and results.
func (b *SystemdBus) Describe() string {
	where := b.Socket
	if root := filepath.Clean(b.HostRoot); root != "/" {
		where = root + where
	}
	return "systemd over D-Bus (" + where + ")"
}

// openSocket opens the socket inode with O_PATH, resolved inside the host
// root (symlinks cannot leave it), and checks it is a socket.
func (b *SystemdBus) openSocket() (int, error) {
	root, err := unix.Open(b.HostRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open host root: %w", err)
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, strings.TrimPrefix(b.Socket, "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(fd)
		return -1, errors.New("not a socket")
	}
	return fd, nil
}

// dial opens one authenticated connection to the bus.
func (b *SystemdBus) dial(ctx context.Context) (*dbus.Conn, error) {
	fd, err := b.openSocket()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// connect(2) through the O_PATH descriptor reaches exactly the inode
	// resolved inside the root.
	conn, err := dbus.Dial("unix:path=/proc/self/fd/"+strconv.Itoa(fd), dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !b.Private {
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("hello: %w", err)
		}
	}
	return conn, nil
}

func (b *SystemdBus) connect(ctx context.Context) (*sddbus.Conn, error) {
	return sddbus.NewConnection(func() (*dbus.Conn, error) { return b.dial(ctx) })
}

// DaemonReload makes systemd reload its unit files (systemctl daemon-reload).
func (b *SystemdBus) DaemonReload(ctx context.Context) error {
	c, err := b.connect(ctx)
	if err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	defer c.Close()
	if err := c.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Restart restarts unit and waits for the job's result; a job that does not
// end "done" is an error carrying the unit's state and its last journal lines.
func (b *SystemdBus) Restart(ctx context.Context, unit string) error {
	return b.job(ctx, "restart", unit, (*sddbus.Conn).RestartUnitContext)
}

// Stop stops unit and waits for the job's result.
func (b *SystemdBus) Stop(ctx context.Context, unit string) error {
	return b.job(ctx, "stop", unit, (*sddbus.Conn).StopUnitContext)
}

// Start starts unit and waits for the job's result.
func (b *SystemdBus) Start(ctx context.Context, unit string) error {
	return b.job(ctx, "start", unit, (*sddbus.Conn).StartUnitContext)
}

type jobFunc func(c *sddbus.Conn, ctx context.Context, name, mode string, ch chan<- string) (int, error)

func (b *SystemdBus) job(ctx context.Context, verb, unit string, call jobFunc) error {
	c, err := b.connect(ctx)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, unit, err)
	}
	defer c.Close()
	ch := make(chan string, 1)
	if _, err := call(c, ctx, unit, "replace", ch); err != nil {
		return &UnitError{Verb: verb, Unit: unit, Err: err, State: b.stateAfter(unit)}
	}
	select {
	case result := <-ch:
		if result == "done" {
			return nil
		}
		return &UnitError{Verb: verb, Unit: unit, Result: result, State: b.stateAfter(unit)}
	case <-ctx.Done():
		return &UnitError{Verb: verb, Unit: unit, Err: ctx.Err(), State: b.stateAfter(unit)}
	}
}

// stateAfter reads the unit's state and journal after a failed job, on a
// fresh short deadline (the job's context may be the one that ran out).
func (b *SystemdBus) stateAfter(unit string) *UnitState {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := b.Unit(ctx, unit)
	if err != nil {
		st = &UnitState{Name: unit, ReadError: err.Error()}
	}
	st.Journal = JournalTail(ctx, b.HostRoot, unit, 15)
	return st
}

// ResetFailed clears the unit's failed state and its start-limit counter
// (systemctl reset-failed UNIT).
func (b *SystemdBus) ResetFailed(ctx context.Context, unit string) error {
	c, err := b.connect(ctx)
	if err != nil {
		return fmt.Errorf("reset-failed %s: %w", unit, err)
	}
	defer c.Close()
	if err := c.ResetFailedUnitContext(ctx, unit); err != nil {
		return fmt.Errorf("reset-failed %s: %w", unit, err)
	}
	return nil
}

// Unit reads the unit's state as systemd holds it.
func (b *SystemdBus) Unit(ctx context.Context, unit string) (*UnitState, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	up, err := c.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", unit, err)
	}
	sp, err := c.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", unit, err)
	}
	return unitStateFrom(unit, up, sp), nil
}

// ActiveState reads one unit's ActiveState ("active", "inactive", "failed",
// "activating", …) as systemd holds it, for any unit type.
func (b *SystemdBus) ActiveState(ctx context.Context, unit string) (string, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	p, err := c.GetUnitPropertyContext(ctx, unit, "ActiveState")
	if err != nil {
		return "", fmt.Errorf("unit %s: %w", unit, err)
	}
	s, ok := p.Value.Value().(string)
	if !ok {
		return "", fmt.Errorf("unit %s: ActiveState is %v", unit, p.Value)
	}
	return s, nil
}
