// The firstsync scenario: what a phone does the first time it syncs an
// address book (DAVx5's way): PROPFIND Depth 1 for every member's getetag,
// then addressbook-multiget in batches with getetag and address-data. The
// wall time covers the requests and the client's own XML parsing; the time
// spent in HTTP alone is reported beside it.

package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// firstSyncRun is one timed first sync.
type firstSyncRun struct {
	Seconds         float64 `json:"seconds"`
	PropfindSeconds float64 `json:"propfind_seconds"`
	MultigetSeconds float64 `json:"multiget_seconds"`
	HTTPSeconds     float64 `json:"http_seconds"` // sum of request times, to the last byte
	Requests        int     `json:"requests"`
	BytesReceived   int64   `json:"bytes_received"`
}

// firstSyncResult is what the firstsync scenario measured.
type firstSyncResult struct {
	Contacts      int            `json:"contacts"`
	Batch         int            `json:"batch"`
	Fill          *putResult     `json:"fill,omitempty"` // contacts put first to reach --contacts
	Runs          []firstSyncRun `json:"runs"`
	MedianSeconds float64        `json:"median_seconds"`
	MinSeconds    float64        `json:"min_seconds"`
	MaxSeconds    float64        `json:"max_seconds"`
}

func runFirstSync(ctx context.Context, c *davClient, b *bookState, cfg config, logf func(string, ...any)) (*firstSyncResult, error) {
	res := &firstSyncResult{Batch: cfg.Batch}
	if b.members() < cfg.Contacts {
		logf("firstsync: filling %s to %d contacts first", b.path, cfg.Contacts)
		fill, err := fillTo(ctx, c, b, cfg.Contacts, cfg.Concurrency)
		if err != nil {
			return nil, err
		}
		res.Fill = fill
	}
	res.Contacts = b.members()
	for k := 0; k < cfg.FirstSyncRepeats; k++ {
		run, bodies, err := firstSync(ctx, c, b, cfg.Batch)
		if err != nil {
			return nil, err
		}
		if k == 0 { // not timed: every contact of ours came back whole
			if err := checkBodies(b, bodies); err != nil {
				return nil, err
			}
		}
		res.Runs = append(res.Runs, *run)
		logf("firstsync: run %d: %d contacts in %.3f s (HTTP %.3f s)", k+1, res.Contacts, run.Seconds, run.HTTPSeconds)
	}
	secs := make([]float64, len(res.Runs))
	for i, r := range res.Runs {
		secs[i] = r.Seconds
	}
	sort.Float64s(secs)
	res.MinSeconds, res.MaxSeconds, res.MedianSeconds = secs[0], secs[len(secs)-1], secs[len(secs)/2]
	return res, nil
}

// firstSync lists the book, fetches every member in batches and checks that
// it saw exactly the book's members, each once, each with a body. It
// returns the bodies by path.
func firstSync(ctx context.Context, c *davClient, b *bookState, batch int) (*firstSyncRun, map[string]string, error) {
	start := time.Now()
	l, err := listMembers(ctx, c, b.path)
	if err != nil {
		return nil, nil, err
	}
	run := &firstSyncRun{PropfindSeconds: time.Since(start).Seconds(), HTTPSeconds: l.dur.Seconds(),
		Requests: 1, BytesReceived: int64(l.bytes)}
	if err := b.checkListing(l); err != nil {
		return nil, nil, err
	}
	mgStart := time.Now()
	bodies := make(map[string]string, len(l.members))
	for from := 0; from < len(l.members); from += batch {
		part := l.members[from:min(from+batch, len(l.members))]
		r, err := multiget(ctx, c, b.path, part, bodies)
		if err != nil {
			return nil, nil, err
		}
		run.Requests++
		run.HTTPSeconds += r.dur.Seconds()
		run.BytesReceived += int64(len(r.body))
	}
	run.MultigetSeconds = time.Since(mgStart).Seconds()
	run.Seconds = time.Since(start).Seconds()
	if len(bodies) != len(l.members) {
		return nil, nil, fmt.Errorf("first sync got %d address-data bodies for %d hrefs", len(bodies), len(l.members))
	}
	return run, bodies, nil
}

// multiget fetches part with one addressbook-multiget (RFC 6352 §8.7) and
// adds each body to bodies, checking that every href comes back once, with
// the listed ETag and a vCard.
func multiget(ctx context.Context, c *davClient, book string, part []member, bodies map[string]string) (*response, error) {
	var q strings.Builder
	q.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><C:address-data/></D:prop>`)
	want := make(map[string]string, len(part))
	for _, m := range part {
		q.WriteString("<D:href>" + xmlText(m.path) + "</D:href>")
		want[m.path] = m.etag
	}
	q.WriteString("</C:addressbook-multiget>")
	r, err := c.do(ctx, "REPORT", book, map[string]string{"Content-Type": "application/xml; charset=utf-8"},
		[]byte(q.String()), http.StatusMultiStatus)
	if err != nil {
		return nil, err
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return nil, fmt.Errorf("multiget %s: %w", book, err)
	}
	got := 0
	for i := range ms.Responses {
		resp := &ms.Responses[i]
		h, err := resp.href()
		if err != nil {
			return nil, fmt.Errorf("multiget %s: %w", book, err)
		}
		path, err := c.hrefPath(h)
		if err != nil {
			return nil, err
		}
		etag, asked := want[path]
		if !asked {
			return nil, fmt.Errorf("multiget %s: answered %s, which was not asked for", book, path)
		}
		if _, dup := bodies[path]; dup {
			return nil, fmt.Errorf("multiget %s: %s answered twice", book, path)
		}
		p := resp.ok()
		if p == nil {
			return nil, fmt.Errorf("multiget %s: %s has no 200 propstat (status %q)", book, path, resp.Status)
		}
		data := deref(p.AddressData)
		if !strings.HasPrefix(data, "BEGIN:VCARD") || !strings.Contains(data, "END:VCARD") {
			return nil, fmt.Errorf("multiget %s: %s has no vCard in address-data", book, path)
		}
		if e := deref(p.GetETag); e != etag {
			return nil, fmt.Errorf("multiget %s: %s has ETag %s, the listing said %s", book, path, e, etag)
		}
		bodies[path] = data
		got++
	}
	if got != len(part) {
		return nil, fmt.Errorf("multiget %s: %d of %d hrefs answered", book, got, len(part))
	}
	return r, nil
}

// checkBodies checks that each contact of ours came back with its UID.
func checkBodies(b *bookState, bodies map[string]string) error {
	b.mu.Lock()
	live := append([]int(nil), b.live...)
	b.mu.Unlock()
	for _, i := range live {
		uid, _ := b.gen.card(i, 0)
		body, ok := bodies[b.objectPath(i)]
		if !ok {
			return fmt.Errorf("first sync: %s missing", b.objectPath(i))
		}
		if !strings.Contains(body, "UID:"+uid) {
			return fmt.Errorf("first sync: %s came back without UID %s", b.objectPath(i), uid)
		}
	}
	return nil
}
