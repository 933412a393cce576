// Package imip sends iTIP messages by e-mail (iMIP, RFC 6047) to attendees
// who have no account on this server: Message builds the mail, SMTP sends
// it through a relay (RFC 5321, STARTTLS per RFC 3207, AUTH PLAIN per RFC
// 4954), and Queue sends the store's durable outbox (storage/outbox.go)
// with retries, recording each outcome as SCHEDULE-STATUS (RFC 6638
// §3.2.9: 1.0 queued, 1.1 sent, 5.1 given up).
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
//   - Delivery is at least once: an entry leaves the outbox only in the
//     record that settles it, after the relay took the message; a crash in
//     between sends it again with the same Message-ID.
//   - Retries are bounded: exponential backoff with jitter, at most
//     MaxAttempts attempts and MaxAge; a 5xx refusal is final at once.
//   - Nothing is skipped: an entry the queue cannot read (a newer format)
//     stops the pass with an error and stays where it is.
package imip
