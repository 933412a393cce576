// Package storm is a reconnect storm: many CardDAV clients over a few
// accounts, all starting at once after a server restart, each doing what a
// phone does when it comes back: PROPFIND Depth 1 of its address book, a
// sync-collection REPORT (RFC 6578) with the token it held before, and an
// addressbook-multiget (RFC 6352 §8.7) of what changed.
//
// A client honours 503 and 429 with Retry-After (plus up to a second of
// jitter) and retries; any other answer, a missing Retry-After, or a
// transport error is a violation. The report says how long the storm took,
// the longest any client waited for any answer, the status counts, and,
// given the server's pid, its peak memory (VmHWM) and open descriptors.
//
// Setup prepares the accounts over HTTP: contacts, the token a phone would
// hold, then the changes it has not seen. It speaks plain CardDAV and only
// to loopback addresses. The integration test of cmd/pimvault and
// cmd/pvload's storm scenario (make bench-storm) both drive it.
package storm
