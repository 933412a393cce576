package device

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// DAV multistatus (RFC 4918 §14.16) as the device reads it.
type msProp struct {
	ETag         string `xml:"DAV: getetag"`
	AddressData  string `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
}

type msPropstat struct {
	Status string `xml:"DAV: status"`
	Prop   msProp `xml:"DAV: prop"`
}

type msResponse struct {
	Hrefs     []string     `xml:"DAV: href"`
	Status    string       `xml:"DAV: status"`
	Propstats []msPropstat `xml:"DAV: propstat"`
}

type multistatus struct {
	XMLName   xml.Name     `xml:"DAV: multistatus"`
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

func decodeMultistatus(data []byte) (multistatus, error) {
	var ms multistatus
	if err := xml.Unmarshal(data, &ms); err != nil {
		return ms, fmt.Errorf("bad multistatus: %w", err)
	}
	return ms, nil
}

// statusOf reads the code of "HTTP/1.1 404 Not Found"; 0 if unreadable.
func statusOf(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// hrefPath turns an href (a path or an absolute URL, escaped) into a
// decoded path; "" if it is not one.
func hrefPath(h string) string {
	u, err := url.Parse(strings.TrimSpace(h))
	if err != nil || u.Path == "" {
		return ""
	}
	return u.Path
}

// escapeHref is the escaped form of a decoded path, for a DAV:href.
func escapeHref(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// parseSyncListing reads a sync-collection answer for collection coll.
func parseSyncListing(data []byte, coll string) (Listing, error) {
	ms, err := decodeMultistatus(data)
	if err != nil {
		return Listing{}, err
	}
	var l Listing
	for _, r := range ms.Responses {
		if len(r.Hrefs) != 1 {
			return Listing{}, fmt.Errorf("a response with %d hrefs", len(r.Hrefs))
		}
		h := hrefPath(r.Hrefs[0])
		if h == "" {
			return Listing{}, fmt.Errorf("bad href %q", r.Hrefs[0])
		}
		if strings.TrimSuffix(h, "/") == strings.TrimSuffix(coll, "/") {
			continue // the collection itself (507: truncated)
		}
		if !strings.HasPrefix(h, coll) {
			return Listing{}, fmt.Errorf("href %q outside the collection", h)
		}
		if statusOf(r.Status) == 404 {
			l.Deleted = append(l.Deleted, h)
			continue
		}
		etag := ""
		for _, ps := range r.Propstats {
			if c := statusOf(ps.Status); c == 200 || c == 0 {
				etag = unquote(ps.Prop.ETag)
			}
		}
		if etag == "" {
			return Listing{}, fmt.Errorf("member %q without a getetag", h)
		}
		l.Members = append(l.Members, Member{Href: h, ETag: etag})
	}
	if ms.SyncToken == "" {
		return Listing{}, errNoToken
	}
	l.Token = strings.TrimSpace(ms.SyncToken)
	return l, nil
}

// parseMultiget reads a multiget answer; 404 members are left out.
func parseMultiget(data []byte) ([]Fetched, error) {
	ms, err := decodeMultistatus(data)
	if err != nil {
		return nil, err
	}
	var out []Fetched
	for _, r := range ms.Responses {
		for _, raw := range r.Hrefs {
			h := hrefPath(raw)
			if h == "" || statusOf(r.Status) == 404 {
				continue
			}
			for _, ps := range r.Propstats {
				if c := statusOf(ps.Status); c != 200 && c != 0 {
					continue
				}
				body := ps.Prop.AddressData
				if body == "" {
					body = ps.Prop.CalendarData
				}
				if body == "" {
					continue
				}
				out = append(out, Fetched{Href: h, ETag: unquote(ps.Prop.ETag), Body: []byte(body)})
			}
		}
	}
	return out, nil
}

// parseDAVError reads the precondition of a DAV:error body (RFC 4918
// §16) and the href inside it, if any.
func parseDAVError(data []byte) (precondition, href string) {
	if !bytes.Contains(data, []byte("error")) {
		return "", ""
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	inHref := false
	for {
		tok, err := d.Token()
		if err != nil {
			return precondition, href
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && precondition == "" {
				precondition = t.Name.Local
			}
			inHref = t.Name.Local == "href"
		case xml.EndElement:
			depth--
			inHref = false
		case xml.CharData:
			if inHref && href == "" {
				href = hrefPath(string(t))
			}
		}
	}
}

// xmlText escapes character data.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
