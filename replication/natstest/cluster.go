// Package natstest runs real NATS JetStream servers inside a test process: a
// three-node cluster on loopback with fixed random ports (so a node that is
// stopped comes back at the same address) and file storage in temporary
// directories, configured as pimvault's replication needs (every write
// fsynced before it is acknowledged: sync_interval always).
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Cluster is a running JetStream cluster.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*node
}

type node struct {
	opts *natsserver.Options
	srv  *natsserver.Server // nil while stopped
}

// MaxPayload is the largest message the test servers take: a whole
// pimvault record with a body of the default maximum size fits.
const MaxPayload = 16 << 20

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs an n-node cluster (n is 1 or 3) and stops it when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	clusterPorts := make([]int, n)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
	}
	base := t.TempDir()
	for i := 0; i < n; i++ {
		o := &natsserver.Options{
			ServerName:   fmt.Sprintf("pv-nats-%d", i+1),
			Host:         "127.0.0.1",
			Port:         freePort(t),
			NoLog:        true,
			NoSigs:       true,
			JetStream:    true,
			StoreDir:     filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			MaxPayload:   MaxPayload,
			SyncAlways:   true,
			SyncInterval: 2 * time.Minute,
		}
		if n > 1 {
			o.Cluster = natsserver.ClusterOpts{Name: "pv-test", Host: "127.0.0.1", Port: clusterPorts[i]}
			for j, p := range clusterPorts {
				if j != i {
					u, _ := url.Parse(fmt.Sprintf("nats://127.0.0.1:%d", p))
					o.Routes = append(o.Routes, u)
				}
			}
		}
		c.nodes = append(c.nodes, &node{opts: o})
	}
	for i := range c.nodes {
		c.Restart(i)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// URLs is the comma-separated client URL list of every node, running or not.
func (c *Cluster) URLs() string {
	var us []string
	for _, n := range c.nodes {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port))
	}
	return strings.Join(us, ",")
}

// Stop shuts node i down (its files stay).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.nodes[i].srv; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.nodes[i].srv = nil
	}
}

// Restart starts node i again with its files and ports.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	if n.srv != nil {
		return
	}
	o := *n.opts
	s, err := natsserver.NewServer(&o)
	if err != nil {
		c.t.Fatalf("natstest: node %d: %v", i+1, err)
	}
	go s.Start()
	// A restarted node recovers its JetStream files before it takes
	// connections, which under a loaded test run has taken over 10 s.
	if !s.ReadyForConnections(30 * time.Second) {
		c.t.Fatalf("natstest: node %d did not start within 30 s", i+1)
	}
	n.srv = s
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.nodes {
		c.Stop(i)
	}
}
