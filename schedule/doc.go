// Package schedule is pimvault's iTIP logic for CalDAV scheduling between the
// accounts of one server: it decides, from the old and new versions of a
// calendar object, which scheduling messages a change sends, builds each
// attendee's copy, and applies an attendee's reply to the organizer's copy.
// It is pure logic on parsed iCalendar (github.com/emersion/go-ical): no I/O,
// no store, no HTTP. The server resolves addresses to accounts and writes
// every delivery through the store's ordinary write path.
//
// # Standards
//
//   - RFC 6638 (CalDAV scheduling): §3.2 implicit scheduling on PUT and DELETE
//     of a scheduling object resource (organizer and attendee), §3.2.6
//     SCHEDULE-AGENT, §3.2.9 SCHEDULE-STATUS, §3.2.10 SCHEDULE-FORCE-SEND,
//     §2.4.1 calendar user addresses.
//   - RFC 5546 (iTIP): §3.2.2 REQUEST, §3.2.3 REPLY, §3.2.5 CANCEL for VEVENT
//     and VTODO, with recurrence instances identified by RECURRENCE-ID.
//   - RFC 5545 (iCalendar): PARTSTAT, STATUS, EXDATE, RECURRENCE-ID.
//
// # Invariants
//
//   - Addresses are compared in one form (Address): "mailto:" and the e-mail
//     address in lower case; any other URI as given.
//   - Work is bounded: an object with more than MaxAttendees attendees in one
//     component, more than MaxComponents components, or a change that would
//     message more than MaxRecipients recipients is refused as a whole with
//     ErrTooManyAttendees, before anything is sent.
//   - Nothing here sends a message for a message: applying a REPLY or building
//     a copy never produces further messages, so deliveries cannot loop.
//   - An attendee's reply changes only that attendee's own PARTSTAT in the
//     organizer's copy, and only where the organizer listed that attendee
//     (ErrNotAttendee otherwise): one account cannot answer for another.
//   - An attendee sees only the instances they are invited to: a copy holds
//     the components that list them, and an override that does not list an
//     attendee of the master becomes an EXDATE in their copy.
//   - Attendees with SCHEDULE-AGENT other than SERVER, and the organizer's own
//     addresses, are never messaged.
package schedule
