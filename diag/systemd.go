package diag

import "fmt"

// SourceSystemd is docker.service as the node's systemd holds it, read over
// D-Bus (the bus socket under the host root).
const SourceSystemd Source = "systemd"

// SystemdFacts is what the node's service manager says about docker.service.
type SystemdFacts struct {
	// Manager names the service manager reached, e.g.
	// "systemd over D-Bus (/run/dbus/system_bus_socket)".
	Manager string `json:"manager"`
	// Unit is docker.service's state.
	Unit SystemdUnit `json:"unit"`
}

// SystemdUnit is one unit's D-Bus properties.
type SystemdUnit struct {
	Name        string `json:"name"`
	LoadState   string `json:"loadState"`
	ActiveState string `json:"activeState"`
	SubState    string `json:"subState"`
	// Result is the service's last result: success, exit-code, start-limit-hit, …
	Result                string   `json:"result"`
	FragmentPath          string   `json:"fragmentPath,omitempty"`
	DropInPaths           []string `json:"dropInPaths,omitempty"`
	MainPID               uint32   `json:"mainPID,omitempty"`
	NRestarts             uint32   `json:"nRestarts"`
	StartLimitBurst       uint32   `json:"startLimitBurst"`
	StartLimitIntervalSec float64  `json:"startLimitIntervalSec"`
	NeedDaemonReload      bool     `json:"needDaemonReload,omitempty"`
}

// InStartLimit reports whether systemd refuses to start the unit until
// reset-failed ("start of the service was attempted too often").
func (u SystemdUnit) InStartLimit() bool { return u.Result == "start-limit-hit" }

// StartLimit describes the unit's start limit in words.
func (u SystemdUnit) StartLimit() string {
	if u.StartLimitBurst == 0 {
		return "no start limit"
	}
	return fmt.Sprintf("%d starts per %gs", u.StartLimitBurst, u.StartLimitIntervalSec)
}
