// Package transfer exports a user's collections and imports vCard and
// iCalendar data into the store: single .vcf (RFC 6350, RFC 2426) and .ics
// (RFC 5545) files, whole pimvault exports, and Radicale storage folders
// (collection-root/<user>/<collection>/ with .Radicale.props and one file per
// item).
//
// # Invariants
//
//   - Nothing is imported half-way: every input is read and validated first
//     (errors name the file and line), and only then is anything committed.
//
//   - Imports merge by UID: an object whose UID the collection already holds
//     updates that object (or is left alone when identical); nothing is
//     duplicated. Every change goes through storage.Commit with a
//     precondition on what was read, so a concurrent change is never lost.
//
//   - Bodies are stored byte for byte as read, except when one .ics file holds
//     several UIDs: it is split into one VCALENDAR per UID (with the file's
//     VTIMEZONEs), re-encoded by go-ical.
//
//   - Calendar objects are validated by calendar exactly as a CalDAV
//     PUT validates them, and stored with the same time-index span
//     (calendar.Object.SpanUnix), so imported events answer time-range
//     queries like uploaded ones.
//
// It imports only storage, calendar (pure iCalendar logic, no HTTP)
// and the vCard/iCalendar libraries: no HTTP, no XML parsing (property values are kept as the escaped XML text the DAV layer
// stores).
package transfer
