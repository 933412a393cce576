package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/pimvault/pimvault/syncproto"
)

// maxResponse bounds a response body the device reads.
const maxResponse = 512 << 20

// multigetChunk is how many hrefs one multiget asks for.
const multigetChunk = 500

// HTTPTransport talks to a pimvault (or any CardDAV/CalDAV) server: the
// go-webdav client for discovery, and plain requests for the calls whose
// bodies must stay byte for byte (PUT, multiget, sync-collection) and for
// the headers of the recovery protocol, which go-webdav does not expose.
// Every request carries Basic auth and X-Pimvault-Device.
type HTTPTransport struct {
	base   *url.URL
	user   string
	pass   string
	device string
	hc     *http.Client

	mu   sync.Mutex
	last ServerInfo
}

// NewHTTPTransport builds a transport from a replica's config. hc may be
// nil (http.DefaultClient).
func NewHTTPTransport(cfg Config, hc *http.Client) (*HTTPTransport, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host[:port]", cfg.Server)
	}
	if hc == nil {
		// Keep a connection per upload worker alive (the default keeps 2).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Timeout: 5 * time.Minute, Transport: tr}
	}
	return &HTTPTransport{base: u, user: cfg.User, pass: cfg.Password, device: cfg.DeviceID, hc: hc}, nil
}

// Do implements webdav.HTTPClient: it adds the credentials and the device
// header and records the server's epoch headers. Shedding answers become
// *StatusError so that the engine can back off.
func (t *HTTPTransport) Do(req *http.Request) (*http.Response, error) {
	req.SetBasicAuth(t.user, t.pass)
	req.Header.Set(HeaderDevice, t.device)
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	info := infoFrom(resp.Header)
	if info.Epoch != "" {
		t.mu.Lock()
		t.last = info
		t.mu.Unlock()
	}
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		resp.Body.Close()
		return nil, &StatusError{Op: req.Method, Href: req.URL.Path, Code: resp.StatusCode,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), Info: info}
	}
	return resp, nil
}

// LastInfo is the epoch information of the last response that had it.
func (t *HTTPTransport) LastInfo() ServerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *HTTPTransport) url(href string) string {
	u := *t.base
	u.Path = href
	return u.String()
}

// request sends one request and returns the status, headers and body.
func (t *HTTPTransport) request(ctx context.Context, method, href string, hdr map[string]string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.url(href), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := t.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, href, err)
	}
	if len(data) > maxResponse {
		return nil, nil, fmt.Errorf("%s %s: answer over %d bytes", method, href, maxResponse)
	}
	return resp, data, nil
}

func statusError(op, href string, resp *http.Response, body []byte) *StatusError {
	e := &StatusError{Op: op, Href: href, Code: resp.StatusCode, Info: infoFrom(resp.Header),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	e.Precondition, e.ConflictHref = parseDAVError(body)
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Msg = msg
	return e
}

// Collections discovers both home sets with go-webdav.
func (t *HTTPTransport) Collections(ctx context.Context) (Discovery, error) {
	wc, err := webdav.NewClient(t, t.url("/dav/"))
	if err != nil {
		return Discovery{}, err
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return Discovery{}, fmt.Errorf("find principal: %w", err)
	}
	cc, err := carddav.NewClient(t, t.url("/"))
	if err != nil {
		return Discovery{}, err
	}
	home, err := cc.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		return Discovery{}, fmt.Errorf("find address book home: %w", err)
	}
	books, err := cc.FindAddressBooks(ctx, home)
	if err != nil {
		return Discovery{}, fmt.Errorf("list address books: %w", err)
	}
	var d Discovery
	for _, b := range books {
		d.Collections = append(d.Collections, Collection{Href: b.Path, Kind: AddressBook, Name: b.Name})
	}
	// Calendars: a server without CalDAV (no home set, 404, an empty
	// home) leaves CalendarsKnown false; only shedding is an error.
	calc, err := caldav.NewClient(t, t.url("/"))
	if err != nil {
		return Discovery{}, err
	}
	calHome, err := calc.FindCalendarHomeSet(ctx, principal)
	if err == nil && calHome != "" {
		cals, cerr := calc.FindCalendars(ctx, calHome)
		err = cerr
		if cerr == nil {
			d.CalendarsKnown = true
			for _, c := range cals {
				d.Collections = append(d.Collections, Collection{Href: c.Path, Kind: Calendar, Name: c.Name})
			}
		}
	}
	if ok, _ := retryable(err); ok {
		return Discovery{}, err
	}
	d.Info = t.LastInfo()
	return d, nil
}

// MakeCollection sends an extended MKCOL (RFC 5689) for an address book or
// MKCALENDAR (RFC 4791 §5.3.1) for a calendar.
func (t *HTTPTransport) MakeCollection(ctx context.Context, c Collection) error {
	name := xmlText(c.Name)
	method, body := "MKCOL", `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>`+name+`</D:displayname></D:prop></D:set></D:mkcol>`
	if c.Kind == Calendar {
		method, body = "MKCALENDAR", `<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>`+name+`</D:displayname></D:prop></D:set></C:mkcalendar>`
	}
	hdr := map[string]string{"Content-Type": "application/xml; charset=utf-8"}
	if c.Token != "" {
		hdr[HeaderToken] = c.Token // 410 when the server deleted it after this token
	}
	resp, data, err := t.request(ctx, method, c.Href, hdr, []byte(body))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusMethodNotAllowed { // 405: it exists
		return statusError(method, c.Href, resp, data)
	}
	return nil
}

// SyncCollection runs sync-collection asking for getetag only.
func (t *HTTPTransport) SyncCollection(ctx context.Context, href, token string) (Listing, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlText(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	resp, data, err := t.request(ctx, "REPORT", href, map[string]string{"Content-Type": "application/xml; charset=utf-8", "Depth": "0"}, []byte(body))
	if err != nil {
		return Listing{}, err
	}
	if resp.StatusCode != http.StatusMultiStatus {
		return Listing{}, statusError("sync-collection", href, resp, data)
	}
	l, err := parseSyncListing(data, href)
	if err != nil {
		return Listing{}, fmt.Errorf("sync-collection %s: %w", href, err)
	}
	l.Info = infoFrom(resp.Header)
	return l, nil
}

// MultiGet fetches bodies in chunks. A body whose hash does not match the
// ETag the server gave is fetched again with GET.
func (t *HTTPTransport) MultiGet(ctx context.Context, c Collection, hrefs []string) ([]Fetched, error) {
	var out []Fetched
	for start := 0; start < len(hrefs); start += multigetChunk {
		chunk := hrefs[start:min(start+multigetChunk, len(hrefs))]
		var b strings.Builder
		if c.Kind == Calendar {
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>`)
		} else {
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
		}
		for _, h := range chunk {
			b.WriteString("<D:href>" + xmlText(h) + "</D:href>")
		}
		if c.Kind == Calendar {
			b.WriteString(`</C:calendar-multiget>`)
		} else {
			b.WriteString(`</C:addressbook-multiget>`)
		}
		resp, data, err := t.request(ctx, "REPORT", c.Href, map[string]string{"Content-Type": "application/xml; charset=utf-8", "Depth": "1"}, []byte(b.String()))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusMultiStatus {
			return nil, statusError("multiget", c.Href, resp, data)
		}
		got, err := parseMultiget(data)
		if err != nil {
			return nil, fmt.Errorf("multiget %s: %w", c.Href, err)
		}
		asked := make(map[string]bool, len(chunk))
		for _, h := range chunk {
			asked[h] = true
		}
		for _, f := range got {
			if !asked[f.Href] {
				continue // not asked for: never let a server write elsewhere
			}
			delete(asked, f.Href)
			if ETagOf(f.Body) != f.ETag {
				g, err := t.get(ctx, f.Href)
				if statusCode(err) == http.StatusNotFound {
					continue
				}
				if err != nil {
					return nil, err
				}
				f = g
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func (t *HTTPTransport) get(ctx context.Context, href string) (Fetched, error) {
	resp, data, err := t.request(ctx, "GET", href, nil, nil)
	if err != nil {
		return Fetched{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, statusError("GET", href, resp, data)
	}
	return Fetched{Href: href, ETag: unquote(resp.Header.Get("ETag")), Body: data}, nil
}

// Put uploads a body byte for byte.
func (t *HTTPTransport) Put(ctx context.Context, href string, kind Kind, body []byte, ifMatch string, ifNoneMatch bool) (PutResult, error) {
	hdr := map[string]string{"Content-Type": kind.ContentType()}
	if ifMatch != "" {
		hdr["If-Match"] = `"` + ifMatch + `"`
	}
	if ifNoneMatch {
		hdr["If-None-Match"] = "*"
	}
	resp, data, err := t.request(ctx, "PUT", href, hdr, body)
	if err != nil {
		return PutResult{}, err
	}
	if resp.StatusCode/100 != 2 {
		return PutResult{}, statusError("PUT", href, resp, data)
	}
	r := PutResult{ETag: unquote(resp.Header.Get("ETag")), Created: resp.StatusCode == http.StatusCreated,
		Existing: resp.Header.Get(HeaderExisting), Info: infoFrom(resp.Header)}
	if r.Existing != "" {
		if u, err := url.Parse(r.Existing); err == nil {
			r.Existing = u.Path
		}
	}
	if r.ETag == "" {
		r.ETag = ETagOf(body)
	}
	return r, nil
}

// Delete deletes an object.
func (t *HTTPTransport) Delete(ctx context.Context, href, ifMatch string) (ServerInfo, error) {
	hdr := map[string]string{}
	if ifMatch != "" {
		hdr["If-Match"] = `"` + ifMatch + `"`
	}
	resp, data, err := t.request(ctx, "DELETE", href, hdr, nil)
	if err != nil {
		return ServerInfo{}, err
	}
	if resp.StatusCode/100 != 2 {
		return ServerInfo{}, statusError("DELETE", href, resp, data)
	}
	return infoFrom(resp.Header), nil
}

// RecoveryDone posts syncproto.RecoveryDonePath: the replica has reconciled.
func (t *HTTPTransport) RecoveryDone(ctx context.Context) error {
	resp, data, err := t.request(ctx, "POST", syncproto.RecoveryDonePath, nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return statusError("POST", syncproto.RecoveryDonePath, resp, data)
	}
	return nil
}

func unquote(etag string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
}

var errNoToken = errors.New("no sync-token in the answer")
