package dav

import (
	"net/http"
	"strings"
)

// Methods are the methods served under /dav/, as advertised in Allow.
var Methods = []string{"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "REPORT"}

// options advertises exactly what is implemented: WebDAV class 1 and 3 (no
// locks), CardDAV, CalDAV, CalDAV scheduling (RFC 6638 §2.1), extended MKCOL.
func WriteOptions(w http.ResponseWriter) {
	w.Header().Set("DAV", "1, 3, addressbook, calendar-access, calendar-auto-schedule, extended-mkcol, calendarserver-sharing")
	w.Header().Set("Allow", strings.Join(Methods, ", "))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
