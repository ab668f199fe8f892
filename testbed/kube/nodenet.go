package kube

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// NodeNet is where a cluster with real kubelets lives: kube-apiserver's
// address on a veth of the root network namespace (198.19.P.1, P from the
// test's PID, in 198.18.0.0/15, the range reserved for such tests), and one
// /32 per node namespace routed to it.
type NodeNet struct {
	Address string // kube-apiserver's
	prefix  string // "198.19.P."
	link    string
	next    int
}

// NewNodeNet makes the veth pair that holds the apiserver's address and
// deletes it when the test ends.
func NewNodeNet(t testing.TB) *NodeNet {
	t.Helper()
	Require(t)
	if err := CleanStaleNodes(); err != nil {
		t.Logf("kube testbed: stale nodes of earlier runs: %v", err)
	}
	pid := os.Getpid()
	n := &NodeNet{prefix: fmt.Sprintf("198.19.%d.", pid%250+1), link: fmt.Sprintf("ksk%d", pid), next: 10}
	n.Address = n.prefix + "1"
	if taken(n.Address) {
		t.Fatalf("kube testbed: %s is already on an interface (another test run?)", n.Address)
	}
	ipRun(t, "link", "add", n.link+"a", "type", "veth", "peer", "name", n.link+"b")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", n.link+"a").Run() })
	ipRun(t, "addr", "add", n.Address+"/32", "dev", n.link+"a")
	ipRun(t, "link", "set", n.link+"a", "up")
	ipRun(t, "link", "set", n.link+"b", "up")
	return n
}

// taken reports whether ip is already an address of this namespace.
func taken(ip string) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), ip+"/") {
			return true
		}
	}
	return false
}

func ipRun(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("kube testbed: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// attach links namespace ns (by name) to the root namespace: eth0 in ns
// with the node's next /32, routes both ways; returns the node's address.
func (n *NodeNet) attach(t testing.TB, ns string) string {
	t.Helper()
	ip := fmt.Sprintf("%s%d", n.prefix, n.next)
	root := fmt.Sprintf("%sn%d", n.link, n.next)
	n.next++
	ipRun(t, "link", "add", root, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", root).Run() })
	ipRun(t, "link", "set", root, "up")
	ipRun(t, "-n", ns, "addr", "add", ip+"/32", "dev", "eth0")
	ipRun(t, "-n", ns, "link", "set", "eth0", "up")
	ipRun(t, "-n", ns, "route", "add", n.Address+"/32", "dev", "eth0")
	ipRun(t, "route", "add", ip+"/32", "dev", root, "src", n.Address)
	return ip
}

// StartForNodes starts a cluster real kubelets can join (NodeNet's address,
// ClusterOptions.Kubelets) and stops it when the test ends.
func StartForNodes(t testing.TB) (*Cluster, *NodeNet) {
	t.Helper()
	Require(t)
	nn := NewNodeNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*apiserverReadyTimeout)
	defer cancel()
	c, err := StartClusterWith(ctx, ClusterOptions{Address: nn.Address, Kubelets: true})
	if err != nil {
		t.Fatalf("start kube testbed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube testbed logs (tails):\n%s", c.Logs(8192))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop kube testbed: %v", err)
		}
	})
	t.Logf("kube testbed: %s ready after %s", c.Server, c.ReadyAfter.Round(time.Millisecond))
	return c, nn
}
