package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
)

var applyDelayRe = regexp.MustCompile(`apply delay over the last (\d+) records: p50 (\S+), p99 (\S+)`)

// TestReplicationBenchmark measures PUT/s of the real binary with sync
// replication to a three-node JetStream cluster (in this process, on
// loopback) next to local-only, at 8 and 64 writers, and the standby's
// apply delay under that load. Run it with PIMVAULT_REPL_BENCH=1 and
// without -race; BENCHMARKS.md has the figures.
func TestReplicationBenchmark(t *testing.T) {
	if os.Getenv("PIMVAULT_REPL_BENCH") == "" {
		t.Skip("a benchmark (about a minute): set PIMVAULT_REPL_BENCH=1 to run it")
	}
	dur := 8 * time.Second
	c := natstest.Start(t, 3)
	for _, mode := range []string{"local", "sync"} {
		for _, writers := range []int{8, 64} {
			dir := t.TempDir()
			extra := []string{"--user", "bench", "--access-log=false"}
			if mode == "sync" {
				extra = append(extra, "--replicate", c.URLs())
			}
			rs := startServer(t, dir, extra...)
			var sb *runningServer
			sdir := filepath.Join(t.TempDir(), "standby")
			if mode == "sync" {
				id := regexp.MustCompile(`store id: (\S+)`).FindStringSubmatch(pimvault(t, "status", "--data", dir).stdout)
				if id == nil {
					t.Fatal("no store id in status")
				}
				sb = startServer(t, sdir, "--follow", c.URLs(), "--store-id", id[1], "--access-log=false")
			}
			cl := davClient{url: rs.url, user: "bench", password: rs.password, http: &http.Client{Timeout: 30 * time.Second,
				Transport: &http.Transport{MaxIdleConnsPerHost: writers}}}
			putEventually(t, cl, "warm.vcf", card("3.0", "warm", "Warm"), 10*time.Second)
			var mu sync.Mutex
			var lat []time.Duration
			fails := 0
			stop := time.Now().Add(dur)
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; time.Now().Before(stop); i++ {
						name := fmt.Sprintf("w%d-%d", w, i)
						t0 := time.Now()
						code, _, err := cl.put(name+".vcf", card("3.0", name, "Bench "+name, "NOTE:"+strings.Repeat("n", 300)))
						d := time.Since(t0)
						mu.Lock()
						if err == nil && code == http.StatusCreated {
							lat = append(lat, d)
						} else {
							fails++
						}
						mu.Unlock()
					}
				}(w)
			}
			wg.Wait()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			load, _ := os.ReadFile("/proc/loadavg")
			line := fmt.Sprintf("%-5s writers=%-3d PUT/s=%7.1f p50=%v p99=%v failed=%d load=%s", mode, writers,
				float64(len(lat))/dur.Seconds(), lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond), fails, strings.Join(strings.Fields(string(load))[:3], " "))
			if sb != nil {
				time.Sleep(time.Second)
				st := pimvault(t, "status", "--data", sdir)
				if m := applyDelayRe.FindStringSubmatch(st.stdout); m != nil {
					line += fmt.Sprintf(" standby apply delay (last %s records) p50=%s p99=%s", m[1], m[2], m[3])
				}
				sb.stop(t)
			}
			t.Log(line)
			t0 := time.Now()
			rs.stop(t)
			t.Logf("stopped in %s", time.Since(t0).Round(time.Millisecond))
		}
	}
}
