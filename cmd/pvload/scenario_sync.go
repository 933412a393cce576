// The sync scenario: the cost of an incremental sync-collection (RFC 6578)
// against the size of the address book. For each size the book is filled up
// to that size, its sync-token is read, then a few changes are made (edits,
// one new contact, one deletion) and sync-collection from the token before
// the changes is timed many times; every answer must name exactly those
// changes with their new ETags and the deletion as 404.

package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// syncSizeResult is what was measured at one book size.
type syncSizeResult struct {
	Size          int        `json:"size"`
	Fill          *putResult `json:"fill"`
	Changes       int        `json:"changes"`
	Repeats       int        `json:"repeats"`
	Latency       latencies  `json:"latency_ms"`
	ResponseBytes int        `json:"response_bytes"`
	Memory        *memSample `json:"memory,omitempty"`
}

// syncResult is what the sync scenario measured.
type syncResult struct {
	Book  string           `json:"book"`
	Sizes []syncSizeResult `json:"sizes"`
	// Flatness is the p50 at the largest size over the p50 at the smallest.
	Flatness float64 `json:"p50_largest_over_smallest"`
}

func runSync(ctx context.Context, c *davClient, book string, cfg config, rep *report, logf func(string, ...any)) (*syncResult, error) {
	if err := ensureBook(ctx, c, book, "pvload sync benchmark"); err != nil {
		return nil, err
	}
	b := newBookState(book, newContactGen(cfg.Seed, "s"))
	if err := b.load(ctx, c); err != nil {
		return nil, err
	}
	res := &syncResult{Book: book}
	revs := map[int]int{}
	for _, size := range cfg.Sizes {
		fill, err := fillTo(ctx, c, b, size, cfg.Concurrency)
		if err != nil {
			return nil, err
		}
		if fill.Contacts > 0 {
			logf("sync: %s holds %d contacts (filled %d at %.0f PUT/s)", book, b.members(), fill.Contacts, fill.PerSecond)
		}
		token, err := syncTokenOf(ctx, c, book)
		if err != nil {
			return nil, err
		}
		want, err := makeChanges(ctx, c, b, cfg.Changes, revs)
		if err != nil {
			return nil, err
		}
		durs := make([]time.Duration, cfg.SyncRepeats)
		var newToken string
		var respBytes int
		for k := range durs {
			r, tok, err := syncCollection(ctx, c, book, token, want)
			if err != nil {
				return nil, fmt.Errorf("at size %d: %w", size, err)
			}
			durs[k], newToken, respBytes = r.dur, tok, len(r.body)
		}
		// Not timed: the new token must give no changes.
		if _, _, err := syncCollection(ctx, c, book, newToken, map[string]change{}); err != nil {
			return nil, fmt.Errorf("at size %d, with the token after the changes: %w", size, err)
		}
		sr := syncSizeResult{Size: size, Fill: fill, Changes: cfg.Changes, Repeats: cfg.SyncRepeats,
			Latency: summarize(durs), ResponseBytes: respBytes}
		if err := rep.sampleMemory(cfg.PID, fmt.Sprintf("sync at %d", size)); err != nil {
			return nil, err
		}
		if cfg.PID > 0 {
			m := rep.Memory[len(rep.Memory)-1]
			sr.Memory = &m
		}
		res.Sizes = append(res.Sizes, sr)
		logf("sync: at %d contacts, %d changes: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms", size, cfg.Changes,
			sr.Latency.P50, sr.Latency.P90, sr.Latency.P99)
	}
	if n := len(res.Sizes); n > 0 && res.Sizes[0].Latency.P50 > 0 {
		res.Flatness = res.Sizes[n-1].Latency.P50 / res.Sizes[0].Latency.P50
	}
	return res, nil
}

// makeChanges edits n-2 of our contacts spread over the book, deletes one
// and adds one. It returns what a sync from before must report.
func makeChanges(ctx context.Context, c *davClient, b *bookState, n int, revs map[int]int) (map[string]change, error) {
	b.mu.Lock()
	live := append([]int(nil), b.live...)
	b.mu.Unlock()
	if len(live) < n-1 {
		return nil, fmt.Errorf("%s holds %d contacts of pvload's, need %d to change", b.path, len(live), n-1)
	}
	want := map[string]change{}
	deleted := ""
	for j := 0; j < n-1; j++ {
		i := live[j*len(live)/(n-1)]
		path := b.objectPath(i)
		old := b.etag(i)
		ifMatch := old
		if ifMatch == "" {
			ifMatch = "*"
		}
		if j == n-2 {
			if _, err := c.do(ctx, "DELETE", path, map[string]string{"If-Match": ifMatch}, nil,
				http.StatusOK, http.StatusNoContent); err != nil {
				return nil, err
			}
			b.deleted(i)
			want[path], deleted = change{deleted: true}, path
			continue
		}
		revs[i]++
		_, body := b.gen.card(i, revs[i])
		r, err := c.do(ctx, "PUT", path, map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-Match": ifMatch},
			body, http.StatusOK, http.StatusCreated, http.StatusNoContent)
		if err != nil {
			return nil, err
		}
		etag := r.header.Get("ETag")
		if etag != "" && etag == old {
			return nil, fmt.Errorf("PUT %s: an edit kept ETag %s (body unchanged?)", path, etag)
		}
		b.updated(i, etag)
		want[path] = change{etag: etag}
	}
	first := b.reserve(0)
	if _, err := putNew(ctx, c, b, 1, 1); err != nil {
		return nil, err
	}
	want[b.objectPath(first)] = change{etag: b.etag(first)}
	if len(want) != n || deleted == "" {
		return nil, fmt.Errorf("internal: %d distinct changes, want %d", len(want), n)
	}
	return want, nil
}

// change is what a sync must report for one path: a deletion (404), or the
// new ETag ("" when the server sent none with the PUT).
type change struct {
	deleted bool
	etag    string
}

// syncCollection sends sync-collection from token and checks that the
// answer names exactly the paths in wants, each as wanted. It returns the
// response and the new token.
func syncCollection(ctx context.Context, c *davClient, book, token string, wants map[string]change) (*response, string, error) {
	q := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlText(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	r, err := c.do(ctx, "REPORT", book, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(q), http.StatusMultiStatus)
	if err != nil {
		return nil, "", err
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return nil, "", fmt.Errorf("sync-collection %s: %w", book, err)
	}
	newToken := strings.TrimSpace(ms.SyncToken)
	if newToken == "" {
		return nil, "", fmt.Errorf("sync-collection %s: no sync-token in the answer", book)
	}
	seen := map[string]bool{}
	for i := range ms.Responses {
		resp := &ms.Responses[i]
		h, err := resp.href()
		if err != nil {
			return nil, "", fmt.Errorf("sync-collection %s: %w", book, err)
		}
		path, err := c.hrefPath(h)
		if err != nil {
			return nil, "", err
		}
		want, ok := wants[path]
		switch {
		case !ok:
			return nil, "", fmt.Errorf("sync-collection %s: reported %s, which did not change (want exactly %d changes)", book, path, len(wants))
		case seen[path]:
			return nil, "", fmt.Errorf("sync-collection %s: reported %s twice", book, path)
		case want.deleted:
			if statusCode(resp.Status) != http.StatusNotFound {
				return nil, "", fmt.Errorf("sync-collection %s: deleted %s reported with status %q, want 404", book, path, resp.Status)
			}
		default:
			p := resp.ok()
			if p == nil {
				return nil, "", fmt.Errorf("sync-collection %s: changed %s has no 200 propstat (status %q)", book, path, resp.Status)
			}
			if got := deref(p.GetETag); want.etag != "" && got != want.etag {
				return nil, "", fmt.Errorf("sync-collection %s: %s has ETag %s, the PUT answered %s", book, path, got, want.etag)
			}
		}
		seen[path] = true
	}
	if len(seen) != len(wants) {
		return nil, "", fmt.Errorf("sync-collection %s: reported %d changes, want %d", book, len(seen), len(wants))
	}
	return r, newToken, nil
}
