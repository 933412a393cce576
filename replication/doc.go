// Package replication ships a pimvault store's journal to a NATS JetStream
// stream and keeps standbys from it, so every acknowledged change can live
// on other machines (docs/REPLICATION.md).
//
// # The stream
//
// One stream (default PIMVAULT, subjects pimvault.journal.>) holds one
// subject per store, pimvault.journal.<store id>. A message carries one or
// more consecutive journal records as the local journal holds them: frames
// back to back (length, CRC-32C, payload with the previous chain hash), so
// a reader checks every record exactly as the store checks its own journal.
// Headers: Pimvault-Store, Pimvault-First and Pimvault-Last (record
// sequences), Pimvault-Chain (chain hash after the last record), and NATS's
// Nats-Msg-Id (<store>-<first>-<last>, de-duplication of retries) and
// Nats-Expected-Last-Subject-Sequence.
//
// # Invariants
//
//   - One writer: every publish names the stream sequence of the subject's
//     last message; the stream refuses it when anyone else appended since.
//     A publisher that finds records on the stream it did not write (or a
//     record whose chain hash differs from its own journal's) is fenced: it
//     refuses all writes until an operator turns it into a standby.
//   - Local first: a record is fsynced in the primary's own journal before
//     it is published; the primary's journal, the stream and each standby's
//     journal are full, independently checked copies.
//   - Sync mode: a client is answered only after the stream acknowledged the
//     batch (stored by a majority of its replicas; with sync_interval always,
//     fsynced there). When the stream cannot be reached, writes are refused
//     with storage.ErrUnavailable (503 + Retry-After) and reads go on.
//   - Async mode: the unreplicated tail is bounded by MaxLagRecords and
//     MaxLagTime; past either, writes are refused the same way.
//   - Standby: records are appended only when they follow the standby's own
//     head in sequence and chain; a standby never writes records of its own
//     until it is promoted.
//   - Lease: the primary holds a key (its store id) in the bucket
//     <stream>-LEASES whose entries expire after the TTL; it renews with
//     revision-checked updates and refuses writes once it could not renew for
//     3/4 of the TTL or once anyone else wrote the key. Promotion takes the
//     lease (waiting for it to expire unless forced), applies the stream to
//     its end, then publishes with the stream's last message as the expected
//     one and writes an epoch record.
//   - Automatic failover (autofailover.go): a standby promotes itself only
//     after it read the lease key as absent (never on a failed read) for
//     the whole grace period while the stream holds records of the store,
//     and takes the lease with a create that fails when the key exists, so
//     of several standbys exactly one wins.
//   - Object store snapshots (objectstore.go): a snapshot's tag is stored
//     in the bucket only after the copy read back from the bucket verified
//     against it; the stream is trimmed only below the newest snapshot
//     whose tag is there, never below a record no verified snapshot holds.
package replication
