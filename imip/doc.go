// Package imip sends iTIP messages by e-mail (iMIP, RFC 6047) to attendees
// who have no account on this server: Message builds the mail, SMTP sends
// it through a relay (RFC 5321, STARTTLS per RFC 3207, AUTH PLAIN per RFC
// 4954).
//
// # Invariants
//
//   - A message carries exactly one text/calendar part whose method
//     parameter equals the iCalendar METHOD (RFC 6047 §2.4), UTF-8, base64
//     encoded so that no line of calendar data is re-wrapped by a relay.
//   - Addresses and the method are printable ASCII and the subject has no
//     control characters (it is Q-encoded): no input adds a header line.
//   - Every send is bounded by the context and by Timeout; credentials are
//     sent only over TLS (or to a relay on a loopback address).
package imip
