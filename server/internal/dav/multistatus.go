package dav

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"strconv"
)

// Multistatus writes a DAV:multistatus body (RFC 4918 §14.16) as it is
// built: once more than flushAt bytes are pending they are sent, so a
// listing of any size holds about that much memory, not the whole answer.
// The status (207) goes out with the first bytes; an error after that can
// no longer change it, and the caller cuts the connection instead (see
// Started), so a client never takes a cut listing for a complete one.
//
// Namespaces are declared once: those of the standard prefixes and of the
// property names the request asked for on the root element, any other (a
// dead property's, in an allprop answer) on the DAV:response that uses it.
// Every byte passes SanitizeXML on its way out.
type Multistatus struct {
	buf      bytes.Buffer
	w        http.ResponseWriter // nil: kept in memory (String)
	ctx      context.Context
	started  bool
	werr     error             // the first failed write to the client
	ns       map[string]string // namespace → prefix, declared on the root
	replaced int               // characters SanitizeXML replaced
	tagCache map[xml.Name][2]string
}

// maxTagCache bounds the tags a Multistatus keeps made.
const maxTagCache = 2 * MaxPropNames

// flushAt is how much pending output a Multistatus keeps before sending it.
const flushAt = 32 << 10

// NewMultistatus starts a multistatus for w (nil: in memory, for String).
// The namespaces of names (the properties the request asked for) are
// declared on the root element. ctx is the request's: Err reports it.
func NewMultistatus(ctx context.Context, w http.ResponseWriter, names []xml.Name) *Multistatus {
	if ctx == nil {
		ctx = context.Background()
	}
	m := &Multistatus{w: w, ctx: ctx}
	m.buf.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	m.buf.WriteString(`<D:multistatus xmlns:D="DAV:" xmlns:C="` + NSCardDAV + `" xmlns:CAL="` + NSCalDAV + `" xmlns:CS="` + nsCS + `" xmlns:A="` + nsApple + `"`)
	for _, n := range names {
		if _, std := nsPrefix[n.Space]; std || n.Space == "" {
			continue
		}
		if _, ok := m.ns[n.Space]; ok {
			continue
		}
		if m.ns == nil {
			m.ns = map[string]string{}
		}
		p := "N" + strconv.Itoa(len(m.ns))
		m.ns[n.Space] = p
		m.buf.WriteString(` xmlns:` + p + `="` + attrEscape(n.Space) + `"`)
	}
	m.buf.WriteString(">")
	return m
}

// TagOf is dav.TagOf with the prefixes declared on this multistatus's root.
func (m *Multistatus) TagOf(n xml.Name) (open, close string) {
	if p, ok := m.ns[n.Space]; ok {
		return "<" + p + ":" + n.Local + ">", "</" + p + ":" + n.Local + ">"
	}
	return TagOf(n)
}

// tags gives the open and close tags of n inside one response, whose own
// namespace declarations are in local. Tags of names declared on the root
// are made once per multistatus.
func (m *Multistatus) tags(n xml.Name, local map[string]string) (open, close string) {
	if t, ok := m.tagCache[n]; ok {
		return t[0], t[1]
	}
	p, ok := nsPrefix[n.Space]
	if !ok {
		p, ok = m.ns[n.Space]
	}
	if ok {
		open, close = "<"+p+":"+n.Local+">", "</"+p+":"+n.Local+">"
		if len(m.tagCache) < maxTagCache {
			if m.tagCache == nil {
				m.tagCache = map[xml.Name][2]string{}
			}
			m.tagCache[n] = [2]string{open, close}
		}
		return open, close
	}
	if p, ok := local[n.Space]; ok {
		return "<" + p + ":" + n.Local + ">", "</" + p + ":" + n.Local + ">"
	}
	return TagOf(n) // the namespace "" (a name with no namespace)
}

// declared reports whether n's prefix is known without a declaration on
// the response.
func (m *Multistatus) declared(n xml.Name) bool {
	if n.Space == "" {
		return true
	}
	if _, std := nsPrefix[n.Space]; std {
		return true
	}
	_, ok := m.ns[n.Space]
	return ok
}

// openResponse writes <D:response>, declaring the namespaces of the names
// that the root does not, and returns the prefixes it declared.
func (m *Multistatus) openResponse(found []PropValue, missing, more []xml.Name) map[string]string {
	var local map[string]string
	declare := func(n xml.Name) {
		if m.declared(n) {
			return
		}
		if _, ok := local[n.Space]; ok {
			return
		}
		if local == nil {
			local = map[string]string{}
		}
		p := "R" + strconv.Itoa(len(local))
		local[n.Space] = p
		m.buf.WriteString(` xmlns:` + p + `="` + attrEscape(n.Space) + `"`)
	}
	m.buf.WriteString("<D:response")
	for i := range found {
		declare(found[i].Name)
	}
	for _, n := range missing {
		declare(n)
	}
	for _, n := range more {
		declare(n)
	}
	m.buf.WriteString(">")
	return local
}

// PropValue is one property with its value as inner XML.
type PropValue struct {
	Name  xml.Name
	Inner string
}

// PropResponse writes a response with a 200 propstat for found and a 404
// propstat for missing names. With namesOnly the values are left out
// (PROPFIND propname).
func (m *Multistatus) PropResponse(href string, found []PropValue, missing []xml.Name, namesOnly bool) {
	m.maybeFlush()
	local := m.openResponse(found, missing, nil)
	m.buf.WriteString("<D:href>")
	m.buf.WriteString(XMLEscape(href))
	m.buf.WriteString("</D:href>")
	if len(found) > 0 {
		m.buf.WriteString("<D:propstat><D:prop>")
		for _, p := range found {
			inner := p.Inner
			if namesOnly {
				inner = ""
			}
			open, close := m.tags(p.Name, local)
			writeElement(&m.buf, open, close, inner)
		}
		m.buf.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	}
	if len(missing) > 0 {
		m.buf.WriteString("<D:propstat><D:prop>")
		for _, n := range missing {
			open, close := m.tags(n, local)
			writeElement(&m.buf, open, close, "")
		}
		m.buf.WriteString("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
	}
	if len(found) == 0 && len(missing) == 0 {
		// No property asked (an empty DAV:prop, as in a sync-collection that only
		// wants the changed hrefs): RFC 4918 §14.24 needs a status or a propstat.
		m.buf.WriteString("<D:status>HTTP/1.1 200 OK</D:status>")
	}
	m.buf.WriteString("</D:response>")
}

// PropStatusResponse writes a response whose every property has one status
// (PROPPATCH results).
func (m *Multistatus) PropStatusResponse(href string, byStatus map[int][]xml.Name, errCond map[int]xml.Name) {
	m.maybeFlush()
	statuses := []int{http.StatusOK, http.StatusForbidden, http.StatusConflict, http.StatusFailedDependency}
	var names []xml.Name
	for _, st := range statuses {
		names = append(names, byStatus[st]...)
		if c, ok := errCond[st]; ok {
			names = append(names, c)
		}
	}
	local := m.openResponse(nil, names, nil)
	m.buf.WriteString("<D:href>" + XMLEscape(href) + "</D:href>")
	for _, st := range statuses {
		names := byStatus[st]
		if len(names) == 0 {
			continue
		}
		m.buf.WriteString("<D:propstat><D:prop>")
		for _, n := range names {
			open, close := m.tags(n, local)
			writeElement(&m.buf, open, close, "")
		}
		m.buf.WriteString("</D:prop><D:status>HTTP/1.1 " + strconv.Itoa(st) + " " + http.StatusText(st) + "</D:status>")
		if c, ok := errCond[st]; ok {
			m.buf.WriteString("<D:error>")
			open, close := m.tags(c, local)
			writeElement(&m.buf, open, close, "")
			m.buf.WriteString("</D:error>")
		}
		m.buf.WriteString("</D:propstat>")
	}
	m.buf.WriteString("</D:response>")
}

// StatusResponse writes a response with only a status (a deleted member in
// sync-collection, a missing href in a multiget).
func (m *Multistatus) StatusResponse(href string, status int) {
	m.maybeFlush()
	m.buf.WriteString("<D:response><D:href>" + XMLEscape(href) + "</D:href><D:status>HTTP/1.1 " +
		strconv.Itoa(status) + " " + http.StatusText(status) + "</D:status></D:response>")
}

// Raw appends XML as is (the sync-token element).
func (m *Multistatus) Raw(s string) {
	m.maybeFlush()
	m.buf.WriteString(s)
}

// Buffer is the pending output, for a writer that appends a response
// element itself (the fast calendar-data path); it must append whole
// <D:response> elements, with names tagged by m.TagOf.
func (m *Multistatus) Buffer() *bytes.Buffer {
	m.maybeFlush()
	return &m.buf
}

// Grow makes room for n more bytes of pending output (at most what is kept
// before a flush, when the multistatus streams).
func (m *Multistatus) Grow(n int) {
	if m.w != nil {
		n = min(n, 2*flushAt)
	}
	m.buf.Grow(n)
}

// Err is why the listing should stop: the client went away (a write
// failed, or the request's context ended); nil while it should go on.
// Loops over many members check it.
func (m *Multistatus) Err() error {
	if m.werr != nil {
		return m.werr
	}
	return m.ctx.Err()
}

// Started reports whether the status and the first bytes are sent: an error
// now can no longer be answered with its own status.
func (m *Multistatus) Started() bool { return m.started }

// Replaced is how many characters XML 1.0 forbids were replaced so far.
func (m *Multistatus) Replaced() int { return m.replaced }

func (m *Multistatus) maybeFlush() {
	if m.w != nil && m.buf.Len() >= flushAt {
		m.flush()
	}
}

func (m *Multistatus) flush() {
	if !m.started {
		m.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		m.w.WriteHeader(http.StatusMultiStatus)
		m.started = true
	}
	out, n := SanitizeXML(m.buf.Bytes())
	m.replaced += n
	if m.werr == nil {
		_, m.werr = m.w.Write(out)
	}
	m.buf.Reset()
}

// Finish closes the document and sends what is pending. It logs, at
// Error, characters the final check had to replace: stored data that the
// validators would refuse today.
func (m *Multistatus) Finish(log *slog.Logger, r *http.Request) {
	m.buf.WriteString("</D:multistatus>\n")
	if m.w != nil {
		m.flush()
	}
	if m.replaced > 0 && log != nil {
		log.Error("response held characters XML 1.0 forbids; sent as U+FFFD", "method", r.Method, "path", r.URL.Path, "count", m.replaced)
	}
}

// Fail answers err: with its own status while nothing is sent yet;
// otherwise the 207 is already on its way, so the connection is cut (the
// client sees an incomplete response, never a short listing it could take
// for the whole collection).
func (m *Multistatus) Fail(log *slog.Logger, r *http.Request, err error) {
	if !m.started {
		WriteError(log, m.w, r, err)
		return
	}
	// Mostly a client that went away; rate-limited like a refusal, since a
	// client can cause it at will.
	LogRefusal(log, r, http.StatusMultiStatus, "listing stopped after its status was sent, connection cut: "+err.Error())
	panic(http.ErrAbortHandler)
}

// String returns the document written so far (in memory), sanitized.
func (m *Multistatus) String() string {
	out, _ := SanitizeXML(m.buf.Bytes())
	return string(out)
}
