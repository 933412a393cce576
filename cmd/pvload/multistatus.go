// DAV:multistatus responses (RFC 4918 §14.16) as pvload reads them: the
// hrefs, statuses and the few properties the scenarios check.

package main

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
)

type multistatus struct {
	XMLName   xml.Name     `xml:"DAV: multistatus"`
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

type msResponse struct {
	Hrefs    []string     `xml:"DAV: href"`
	Status   string       `xml:"DAV: status"`
	Propstat []msPropstat `xml:"DAV: propstat"`
}

type msPropstat struct {
	Prop   msProp `xml:"DAV: prop"`
	Status string `xml:"DAV: status"`
}

type msProp struct {
	GetETag      *string    `xml:"DAV: getetag"`
	AddressData  *string    `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	SyncToken    *string    `xml:"DAV: sync-token"`
	ResourceType *resType   `xml:"DAV: resourcetype"`
	CurrentUser  *hrefValue `xml:"DAV: current-user-principal"`
	HomeSet      *hrefValue `xml:"urn:ietf:params:xml:ns:carddav addressbook-home-set"`
}

type resType struct {
	Collection  *struct{} `xml:"DAV: collection"`
	AddressBook *struct{} `xml:"urn:ietf:params:xml:ns:carddav addressbook"`
}

type hrefValue struct {
	Hrefs []string `xml:"DAV: href"`
}

// parseMultistatus decodes a 207 body.
func parseMultistatus(body []byte) (*multistatus, error) {
	var ms multistatus
	if err := xml.Unmarshal(body, &ms); err != nil {
		return nil, fmt.Errorf("multistatus: %w", err)
	}
	return &ms, nil
}

// href returns the response's one href.
func (r *msResponse) href() (string, error) {
	if len(r.Hrefs) != 1 {
		return "", fmt.Errorf("response with %d hrefs, want 1", len(r.Hrefs))
	}
	return strings.TrimSpace(r.Hrefs[0]), nil
}

// ok returns the properties found (the propstat with status 200), or nil.
func (r *msResponse) ok() *msProp {
	for i := range r.Propstat {
		if statusCode(r.Propstat[i].Status) == 200 {
			return &r.Propstat[i].Prop
		}
	}
	return nil
}

// statusCode reads "HTTP/1.1 404 Not Found" as 404 (0 when malformed).
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// xmlText escapes s for use as XML character data.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
