// Package birthday keeps an account's optional birthday calendar: a
// read-only calendar ("birthdays") with one yearly all-day event per BDAY and
// per ANNIVERSARY of the cards in the account's address books, written when
// the calendar is enabled and again whenever a card changes or goes.
//
// # Standards
//
//   - RFC 6350 §6.2.5 BDAY and §6.2.6 ANNIVERSARY (date forms YYYYMMDD,
//     YYYY-MM-DD and --MMDD without a year; a time part is ignored); RFC
//     2426 §3.1.5 BDAY (vCard 3.0); X-ANNIVERSARY as older clients write it;
//     Apple's X-APPLE-OMIT-YEAR marks a year that is not known.
//   - RFC 5545: VEVENT with DTSTART;VALUE=DATE and RRULE:FREQ=YEARLY; a
//     29 February recurs on the last day of February (BYMONTHDAY=-1).
//
// # Invariants
//
//   - Events are a pure function of the card (Events): the same card gives
//     the same bytes, so re-syncing an unchanged card writes nothing.
//   - Every event is an ordinary store change of the account's calendar
//     (journalled, undoable, replicated); a card without dates has no event.
//   - The event's name and UID hash the card's collection and UID, so two
//     address books holding one UID do not collide.
//   - Nothing but this package writes the birthday calendar: the server
//     refuses clients' writes to it.
package birthday
