// Package server is pimvault's HTTP side: the DAV methods and reports, auth,
// admission control and the web UI (DESIGN.md §6, §7), and the local admin
// socket through which admin commands reach a running server.
//
// The admin socket is <data dir>/admin.sock, mode 0600, speaking HTTP with
// JSON bodies: POST /admin/<command> with {"args": {...}} answers
// {"output": "...", "failed": bool, "error": "..."}. The same commands run
// directly on an opened store when no server holds the data directory, so an
// admin command behaves the same whether the server runs or not.
//
// CalDAV (RFC 4791, with RFC 5689 extended MKCOL and RFC 6578 sync): the
// caldav_*.go and report_calendar*.go files. Calendar bodies are validated
// and matched by package server/calendar; a PUT stores the body exactly as
// sent, with its UID, component and time span (unbounded recurrences end at
// calendar.Forever; objects without any time are indexed over all time, so
// the span index always returns them). calendar-query takes its candidates
// from that index when the filter has a top-level time-range, then
// calendar.Match decides.
package server
