// Package admit decides, before a request's handler runs, whether the
// server takes it now, lets it wait briefly in a short queue, or refuses it
// at once with a time to come back (HTTP 503 with Retry-After, RFC 9110
// §10.2.3 and §15.6.4).
//
// A Gate bounds the requests running at once, in total and per account, and
// keeps a bounded queue ordered by priority (High before Low, first come
// first served within one priority). The same Gate, without accounts, is
// the pool that bounds one class of expensive work (password checks, Depth 1
// listings, expand and free-busy reports, large bodies).
//
// Invariants:
//   - At most Limit tickets are held at once, and at most PerAccount of them
//     by one non-empty account.
//   - At most Queue requests wait, and none waits longer than Wait or past
//     its context: a waiter is granted a ticket or refused, never left.
//   - A freed slot goes to the first waiter of the highest priority whose
//     account has room; a High arrival may push the newest Low waiter out of
//     a full queue.
//   - A refusal carries a Retry-After spread over the backlog the gate has
//     seen divided by the rate it completes requests, jittered so refused
//     clients do not return in one wave.
//   - Memory is O(Limit + Queue) whatever the input: per-account counts
//     exist only for accounts holding or waiting for a ticket.
package admit
