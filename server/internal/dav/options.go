package dav

import (
	"net/http"
	"strings"
)

// Methods are the methods served under /dav/, as advertised in Allow.
var Methods = []string{"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "REPORT"}

// MethodsFor are the methods p's resource may be asked for: MKCALENDAR only
// in the calendar tree (RFC 4791 §5.3.1; an address book or the files area
// cannot hold a calendar), every other method everywhere.
func MethodsFor(p Path) []string {
	if p.Home == HomeCalendars {
		return Methods
	}
	ms := make([]string, 0, len(Methods))
	for _, m := range Methods {
		if m != "MKCALENDAR" {
			ms = append(ms, m)
		}
	}
	return ms
}

// WriteOptions advertises exactly what is implemented: WebDAV class 1 and 3
// (no locks), CardDAV, CalDAV, CalDAV scheduling (RFC 6638 §2.1), extended
// MKCOL, CalendarServer sharing; Allow lists MethodsFor(p).
func WriteOptions(w http.ResponseWriter, p Path) {
	w.Header().Set("DAV", "1, 3, addressbook, calendar-access, calendar-auto-schedule, extended-mkcol, calendarserver-sharing")
	w.Header().Set("Allow", strings.Join(MethodsFor(p), ", "))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
