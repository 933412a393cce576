// Discovery and the collection-level requests the scenarios share: finding
// the address book (current-user-principal → addressbook-home-set → first
// address book), creating one with extended MKCOL, listing its members with
// PROPFIND Depth 1 and reading its sync-token.

package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// syncBookPrefix names the books the sync scenario creates; discovery skips
// them so a later run still finds the user's own book first.
const syncBookPrefix = "pvload-sync-"

func propfindBody(props string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` +
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>` + props + `</D:prop></D:propfind>`)
}

// propfind sends PROPFIND and parses the 207.
func (c *davClient) propfind(ctx context.Context, path, depth, props string) (*multistatus, *response, error) {
	r, err := c.do(ctx, "PROPFIND", path, map[string]string{"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
		propfindBody(props), http.StatusMultiStatus)
	if err != nil {
		return nil, r, err
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return nil, r, fmt.Errorf("PROPFIND %s: %w", path, err)
	}
	return ms, r, nil
}

// singleProp returns the 200 properties of the one response a Depth 0
// PROPFIND on path gives.
func (c *davClient) singleProp(ctx context.Context, path, props string) (*msProp, error) {
	ms, _, err := c.propfind(ctx, path, "0", props)
	if err != nil {
		return nil, err
	}
	if len(ms.Responses) == 0 {
		return nil, fmt.Errorf("PROPFIND %s: no response element", path)
	}
	p := ms.Responses[0].ok()
	if p == nil {
		return nil, fmt.Errorf("PROPFIND %s: no property found (status %q)", path, ms.Responses[0].Status)
	}
	return p, nil
}

func firstHref(v *hrefValue, what string) (string, error) {
	if v == nil || len(v.Hrefs) == 0 || strings.TrimSpace(v.Hrefs[0]) == "" {
		return "", fmt.Errorf("server gave no %s", what)
	}
	return strings.TrimSpace(v.Hrefs[0]), nil
}

// discoverPrincipal follows current-user-principal from the root, as a
// phone does first, and returns the principal's path.
func discoverPrincipal(ctx context.Context, c *davClient) (string, error) {
	p, err := c.singleProp(ctx, "/", "<D:current-user-principal/>")
	if err != nil {
		return "", err
	}
	principal, err := firstHref(p.CurrentUser, "current-user-principal")
	if err != nil {
		return "", err
	}
	return c.hrefPath(principal)
}

// discoverBook finds the user's first address book the way a phone does.
func discoverBook(ctx context.Context, c *davClient) (string, error) {
	principal, err := discoverPrincipal(ctx, c)
	if err != nil {
		return "", err
	}
	p, err := c.singleProp(ctx, principal, "<C:addressbook-home-set/>")
	if err != nil {
		return "", err
	}
	home, err := firstHref(p.HomeSet, "addressbook-home-set")
	if err != nil {
		return "", err
	}
	if home, err = c.hrefPath(home); err != nil {
		return "", err
	}
	ms, _, err := c.propfind(ctx, home, "1", "<D:resourcetype/>")
	if err != nil {
		return "", err
	}
	for i := range ms.Responses {
		r := &ms.Responses[i]
		h, err := r.href()
		if err != nil {
			return "", err
		}
		path, err := c.hrefPath(h)
		if err != nil {
			return "", err
		}
		p := r.ok()
		if samePath(path, home) || p == nil || p.ResourceType == nil || p.ResourceType.AddressBook == nil ||
			strings.HasPrefix(lastSegment(path), syncBookPrefix) {
			continue
		}
		if !strings.HasSuffix(path, "/") {
			path += "/"
		}
		return path, nil
	}
	return "", fmt.Errorf("no address book in %s: create one (extended MKCOL) or give --book", home)
}

// ensureBook creates the address book at path with extended MKCOL (RFC 5689)
// unless it exists already.
func ensureBook(ctx context.Context, c *davClient, path, displayName string) error {
	p, err := c.singleProp(ctx, path, "<D:resourcetype/>")
	switch {
	case err == nil:
		if p.ResourceType == nil || p.ResourceType.AddressBook == nil {
			return fmt.Errorf("%s exists and is not an address book", path)
		}
		return nil
	case !isStatus(err, http.StatusNotFound):
		return err
	}
	body := `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
		`<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>` + xmlText(displayName) + `</D:displayname>` +
		`</D:prop></D:set></D:mkcol>`
	_, err = c.do(ctx, "MKCOL", path, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(body), http.StatusCreated)
	return err
}

// member is one object of a listing.
type member struct {
	path string // escaped URL path
	etag string
}

// listing is the result of PROPFIND Depth 1 on a book.
type listing struct {
	members []member
	dur     time.Duration
	bytes   int
}

// listMembers lists the objects of book with their ETags, checking that
// every member has one.
func listMembers(ctx context.Context, c *davClient, book string) (*listing, error) {
	ms, r, err := c.propfind(ctx, book, "1", "<D:getetag/>")
	if err != nil {
		return nil, err
	}
	l := &listing{dur: r.dur, bytes: len(r.body), members: make([]member, 0, len(ms.Responses))}
	seen := make(map[string]bool, len(ms.Responses))
	for i := range ms.Responses {
		resp := &ms.Responses[i]
		h, err := resp.href()
		if err != nil {
			return nil, fmt.Errorf("PROPFIND %s: %w", book, err)
		}
		path, err := c.hrefPath(h)
		if err != nil {
			return nil, err
		}
		if samePath(path, book) {
			continue
		}
		p := resp.ok()
		if p == nil || deref(p.GetETag) == "" {
			return nil, fmt.Errorf("PROPFIND %s: member %s has no getetag", book, path)
		}
		if seen[path] {
			return nil, fmt.Errorf("PROPFIND %s: member %s listed twice", book, path)
		}
		seen[path] = true
		l.members = append(l.members, member{path: path, etag: deref(p.GetETag)})
	}
	return l, nil
}

// syncTokenOf reads a collection's DAV:sync-token (RFC 6578 §4).
func syncTokenOf(ctx context.Context, c *davClient, book string) (string, error) {
	p, err := c.singleProp(ctx, book, "<D:sync-token/>")
	if err != nil {
		return "", err
	}
	if deref(p.SyncToken) == "" {
		return "", fmt.Errorf("%s has no sync-token", book)
	}
	return deref(p.SyncToken), nil
}

func samePath(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }

// parentPath returns the collection that holds path ("/a/b/" → "/a/").
func parentPath(path string) string {
	p := strings.TrimSuffix(path, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i+1]
	}
	return "/"
}

func lastSegment(path string) string {
	p := strings.TrimSuffix(path, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
