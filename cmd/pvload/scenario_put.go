// The put scenario: PUT N new contacts with C concurrent workers, each with
// If-None-Match: * (as a phone creating a contact sends it), and report
// PUT/s and latencies. The same worker pool fills books for the other
// scenarios.

package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// putResult is what the put scenario measured.
type putResult struct {
	Contacts    int       `json:"contacts"`
	Concurrency int       `json:"concurrency"`
	Seconds     float64   `json:"seconds"`
	PerSecond   float64   `json:"puts_per_second"`
	BodyBytes   int64     `json:"body_bytes"`
	Latency     latencies `json:"latency_ms"`
	BookSize    int       `json:"book_size_after"`
}

func runPut(ctx context.Context, c *davClient, b *bookState, cfg config) (*putResult, error) {
	res, err := putNew(ctx, c, b, cfg.Contacts, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	// Not timed: the book must now list exactly what was put.
	l, err := listMembers(ctx, c, b.path)
	if err != nil {
		return nil, err
	}
	if err := b.checkListing(l); err != nil {
		return nil, err
	}
	res.BookSize = len(l.members)
	return res, nil
}

// putNew creates n new contacts in b with the given number of workers and
// returns the throughput. It stops at the first failure.
func putNew(ctx context.Context, c *davClient, b *bookState, n, workers int) (*putResult, error) {
	if n <= 0 {
		return &putResult{Concurrency: workers}, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	first := b.reserve(n)
	// The bodies are made before the clock starts: only the server and the
	// HTTP exchange are timed.
	bodies := make([][]byte, n)
	for k := range bodies {
		_, bodies[k] = b.gen.card(first+k, 0)
	}
	durs := make([]time.Duration, n)
	var next atomic.Int64
	var bytes atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				i, body := first+k, bodies[k]
				r, err := c.do(ctx, "PUT", b.objectPath(i),
					map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}, body, http.StatusCreated)
				if err != nil {
					if isStatus(err, http.StatusPreconditionFailed) {
						err = fmt.Errorf("%w (the object exists already: run on a fresh book or with another --seed)", err)
					}
					cancel(err)
					return
				}
				durs[k] = r.dur
				bytes.Add(int64(len(body)))
				b.created(i, r.header.Get("ETag"))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return &putResult{Contacts: n, Concurrency: workers, Seconds: elapsed.Seconds(),
		PerSecond: float64(n) / elapsed.Seconds(), BodyBytes: bytes.Load(), Latency: summarize(durs)}, nil
}

// fillTo puts new contacts until b holds size members.
func fillTo(ctx context.Context, c *davClient, b *bookState, size, workers int) (*putResult, error) {
	have := b.members()
	if have > size {
		return nil, fmt.Errorf("%s holds %d members, more than the size %d to measure: use a fresh book", b.path, have, size)
	}
	return putNew(ctx, c, b, size-have, workers)
}
