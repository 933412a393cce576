// Package server is pimvault's HTTP side: the DAV methods and reports, sign-in
// and admission control, the recovery gate and the /api/ endpoints. Admin
// commands live in package admin, accounts in package account.
//
// CalDAV (RFC 4791, with RFC 5689 extended MKCOL and RFC 6578 sync): the
// caldav_*.go files. Calendar bodies are validated
// and matched by package calendar; a PUT stores the body exactly as
// sent, with its UID, component and time span (unbounded recurrences end at
// calendar.Forever; objects without any time are indexed over all time, so
// the span index always returns them). calendar-query takes its candidates
// from that index when the filter has a top-level time-range, then
// calendar.Match decides.
//
// # Layout
//
//   - server/internal/dav: the DAV core every handler uses — errors and the
//     one status mapping (ToError), paths, XML bodies and multistatus,
//     properties, ETag lists and conditional headers.
//   - server/files: the generic WebDAV area under /dav/files/<user>/.
//   - carddav_*.go, caldav_*.go: the CardDAV and CalDAV handlers; vCards are
//     validated and matched by package card, iCalendar by package calendar.
//   - report.go dispatches REPORT; report_sync.go answers sync-collection
//     with the rules of package syncproto.
//   - propfind.go answers PROPFIND; propfind_members.go writes the members
//     of a Depth 1 listing by name from values made once per listing.
//   - recovery.go: the recovery gate; api_undo.go: /api/history and /api/undo;
//     api_guard.go keeps other sites' browsers away from /api/.
//   - auth.go: sign-in (accounts in package account, bcrypt through
//     account.Verifier); Server.SignIn is the same check for the web
//     pages, which package web serves and Config.Pages mounts under /web/;
//     signin_limit.go: failed sign-ins limited per
//     (account, address) and per address, reserved with the attempt;
//     clientaddr.go: the client address, from Forwarded (RFC 7239) or
//     X-Forwarded-For only behind a trusted proxy.
//   - share*.go: sharing as CalendarServer's caldav-sharing and
//     caldav-notifications extensions describe it (what Apple's clients
//     speak) and /api/shares. Invariants: only an accepted grant gives
//     access; an invitation, an answer and a revocation are each one
//     journalled change of the owner's collection; the notification
//     collection is computed from those grants, never stored apart; a
//     sharee changes only objects, never the collection, and reaches it
//     at its owner's URL with the owner's sync tokens and recovery state.
//   - admission.go: every request but /healthz through the gate of
//     server/internal/admit (503 with Retry-After, RFC 9110 §15.6.4, when
//     busy) and the pools of expensive work; listen.go: the HTTP server's
//     read, write and header bounds and the connection cap.
//
// With Config.AccessLog, each request is logged at Info with method, path,
// status, bytes, duration and user (webdav_accesslog.go).
package server
