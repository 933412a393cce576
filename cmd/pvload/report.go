// The report: latency percentiles, the server's memory from
// /proc/PID/status, and the text and JSON forms of a run's figures, with
// the CardDAV targets beside them.

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// latencies summarizes request times, in milliseconds.
type latencies struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// summarize returns the nearest-rank percentiles of ds.
func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rank := func(p float64) time.Duration {
		k := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(k, 0), len(s)-1)]
	}
	return latencies{N: len(s), Mean: ms(sum / time.Duration(len(s))), P50: ms(rank(0.50)), P90: ms(rank(0.90)),
		P99: ms(rank(0.99)), Max: ms(s[len(s)-1])}
}

// memSample is the server's memory at one point of the run, from
// /proc/PID/status. RssFile is mostly mapped files (bbolt maps store.db),
// RssAnon the heap and stacks.
type memSample struct {
	After      string `json:"after"`
	VmRSSKiB   int64  `json:"vm_rss_kib"`
	VmHWMKiB   int64  `json:"vm_hwm_kib"` // peak resident set so far
	RssAnonKiB int64  `json:"rss_anon_kib"`
	RssFileKiB int64  `json:"rss_file_kib"`
}

// readProcMemory reads the memory lines of pid's /proc status (Linux).
func readProcMemory(pid int) (memSample, error) {
	var m memSample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, fmt.Errorf("--pid %d: %w", pid, err)
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS": &m.VmRSSKiB, "VmHWM": &m.VmHWMKiB, "RssAnon": &m.RssAnonKiB, "RssFile": &m.RssFileKiB}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := fields[k]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc/%d/status: %s: %q", pid, k, v)
		}
		*dst = n
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.VmRSSKiB == 0 {
		return m, fmt.Errorf("/proc/%d/status has no VmRSS (a kernel thread?)", pid)
	}
	return m, nil
}

// report is everything one run measured.
type report struct {
	URL          string           `json:"url"`
	ServerHeader string           `json:"server_header,omitempty"`
	Book         string           `json:"book"`
	Seed         uint64           `json:"seed"`
	Scenarios    []string         `json:"scenarios"`
	Started      time.Time        `json:"started"`
	Seconds      float64          `json:"seconds"`
	Requests     int64            `json:"requests"`
	Put          *putResult       `json:"put,omitempty"`
	FirstSync    *firstSyncResult `json:"firstsync,omitempty"`
	Sync         *syncResult      `json:"sync,omitempty"`
	Calendar     *calendarResult  `json:"calendar,omitempty"`
	Memory       []memSample      `json:"memory,omitempty"`
}

// sampleMemory records the server's memory when a pid was given.
func (r *report) sampleMemory(pid int, after string) error {
	if pid <= 0 {
		return nil
	}
	m, err := readProcMemory(pid)
	if err != nil {
		return err
	}
	m.After = after
	r.Memory = append(r.Memory, m)
	return nil
}

// The CardDAV targets on a 2-core machine (BENCHMARKS.md, "CardDAV").
const (
	targetPutPerSecond  = 2000
	targetFirstSync10k  = 1.0 // seconds
	targetSyncP50Millis = 5.0
	targetRSSMiB        = 150
)

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// writeText writes the report for people.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "pvload report: %s (server %q), book %s, seed %d, %.1f s, %d requests\n",
		r.URL, r.ServerHeader, r.Book, r.Seed, r.Seconds, r.Requests)
	if p := r.Put; p != nil {
		fmt.Fprintf(w, "put        %d contacts, concurrency %d: %.0f PUT/s in %.2f s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f",
			p.Contacts, p.Concurrency, p.PerSecond, p.Seconds, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max)
		if p.Contacts >= 10000 && p.Concurrency == 8 {
			fmt.Fprintf(w, " [target ≥ %d/s: %s]", targetPutPerSecond, metText(p.PerSecond >= targetPutPerSecond))
		}
		fmt.Fprintln(w)
	}
	if f := r.FirstSync; f != nil {
		fmt.Fprintf(w, "firstsync  %d contacts, multiget batches of %d: median %.3f s (min %.3f, max %.3f) over %d runs",
			f.Contacts, f.Batch, f.MedianSeconds, f.MinSeconds, f.MaxSeconds, len(f.Runs))
		if len(f.Runs) > 0 {
			last := f.Runs[len(f.Runs)-1]
			fmt.Fprintf(w, "; last: PROPFIND %.3f s + multiget %.3f s, HTTP %.3f s, %d requests, %.1f MiB",
				last.PropfindSeconds, last.MultigetSeconds, last.HTTPSeconds, last.Requests, float64(last.BytesReceived)/(1<<20))
		}
		if f.Contacts == 10000 {
			fmt.Fprintf(w, " [target < %.0f s: %s]", targetFirstSync10k, metText(f.MedianSeconds < targetFirstSync10k))
		}
		fmt.Fprintln(w)
	}
	if s := r.Sync; s != nil {
		for _, z := range s.Sizes {
			fmt.Fprintf(w, "sync       %6d contacts, %d changes, %d reports: latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f [target p50 < %.0f ms: %s]",
				z.Size, z.Changes, z.Repeats, z.Latency.P50, z.Latency.P90, z.Latency.P99, z.Latency.Max,
				targetSyncP50Millis, metText(z.Latency.P50 < targetSyncP50Millis))
			if z.Fill != nil && z.Fill.Contacts > 0 {
				fmt.Fprintf(w, "; filled %d at %.0f PUT/s", z.Fill.Contacts, z.Fill.PerSecond)
			}
			if z.Memory != nil {
				fmt.Fprintf(w, "; RSS %.1f MiB", float64(z.Memory.VmRSSKiB)/1024)
			}
			fmt.Fprintln(w)
		}
		if s.Flatness > 0 {
			fmt.Fprintf(w, "sync       p50 at the largest size / p50 at the smallest: %.2f\n", s.Flatness)
		}
	}
	if r.Calendar != nil {
		r.Calendar.writeText(w, r.Memory)
	}
	for _, m := range r.Memory {
		fmt.Fprintf(w, "memory     after %-14s VmRSS %7.1f MiB (anon %6.1f, file %6.1f)  VmHWM %7.1f MiB\n", m.After+":",
			float64(m.VmRSSKiB)/1024, float64(m.RssAnonKiB)/1024, float64(m.RssFileKiB)/1024, float64(m.VmHWMKiB)/1024)
	}
	if n := len(r.Memory); n > 0 && r.Sync != nil && len(r.Sync.Sizes) > 0 && r.Sync.Sizes[len(r.Sync.Sizes)-1].Size >= 50000 {
		rss := float64(r.Memory[n-1].VmRSSKiB) / 1024
		fmt.Fprintf(w, "memory     final VmRSS %.1f MiB [target < %d MiB after 50k contacts: %s]\n", rss, targetRSSMiB, metText(rss < targetRSSMiB))
	}
}
