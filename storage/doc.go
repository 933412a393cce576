// Package storage is pimvault's journal-first store: an append-only journal
// that holds every change with its full body, and a bbolt projection of the
// current state built from it (docs/ARCHITECTURE.md, "Storage"). It never
// imports net/http or encoding/xml.
//
// # Invariants
//
//   - Acknowledged means durable: Commit returns only after the change's
//     journal record is fdatasynced and applied to store.db.
//   - store.db is a projection: it can be rebuilt from the journal alone to the
//     same state hash, and it stores the last sequence and chain hash it
//     applied in the same bbolt transaction as the data.
//   - Preconditions (If-Match, If-None-Match: * or an ETag list, UID unique in
//     a collection, existence, and the Cond list on other collections and
//     objects) are checked by the single committer inside the write, against
//     the current state plus the earlier changes of the same batch.
//   - With a Replicator installed (replica.go), a batch is refused before
//     anything is written when Ready fails, and acknowledged also means its
//     Replicate returned nil (called after the fsync, before any answer). A
//     Standby store takes records only through AppendFrames, each checked
//     to follow its head in sequence and chain.
//   - Damage to acknowledged data is never served: Open refuses with a
//     *CorruptionError that says what is damaged and what to do.
//   - Refused means absent: a change answered with an error is never in the
//     store, now or after a reopen. A batch whose journal append, fsync or
//     store.db commit fails is cut off the journal before any other write
//     (journal_cut.go); a full disk is a *NoSpaceError naming the real file,
//     and writes resume by themselves once space is freed.
//   - Time arguments (undo and restore targets) are checked against the
//     range the journal's Unix nanoseconds can hold before any conversion
//     (timearg.go); an undo that removes a collection or more than
//     Options.UndoConfirmOver objects needs UndoRequest.Confirm.
//   - Only a journalled tombstone deletes: a device's deletion of an object
//     the store lacks is itself journalled as a tombstone
//     (Change.TombstoneAbsent), and a device's re-creation of a collection
//     whose tombstone is after the device's last token of it is refused
//     with ErrDeleted (Change.SeenToken, syncproto.DeletedSince).
//   - A recovery closes by the devices' reports only when the store knows
//     the devices of the account before the loss (its registry, or the list
//     an admin gives with ExpectDevices); otherwise only an admin closes it.
//   - Re-applying a diverged tail (reapply.go) writes new records only,
//     with If-Match or If-None-Match on each, and leaves every object this
//     store changed after the split as it is.
//
// # Data directory
//
//	IDENTITY          JSON: format, store_id (32 hex digits), created
//	HIGHWATER         JSON: store_id, seq, chain_hash, written: the highest
//	                  acknowledged record (highwater.go); a store that opens
//	                  behind it starts a new epoch, every principal RECOVERING
//	LOCK              flock held by the process that has the store open (holds its pid)
//	DIRTY             present while open: "<boot id> sync|nosync"
//	store.db          bbolt projection
//	store.db.rebuild  store.db being built from the journal; renamed to store.db once complete
//	journal/          segments (may be elsewhere: Options.JournalDir)
//	journal/BASE      JSON, only after retention pruned segments (base.go,
//	                  prune.go): seq and chain_hash of the last pruned record,
//	                  and the verified snapshot (file name in snapshots/, its
//	                  seq, chain and state hash) that covers every pruned
//	                  record. Readers start the chain there; a new store.db
//	                  starts as a copy of that snapshot; segments at or below
//	                  the base (a prune that died before moving them) are skipped
//	quarantine/       files moved aside instead of deleted (old store.db, …)
//	snapshots/        snap-<seq>-<time>.db hot copies of store.db, each with its tag
//	                  <file>.json (seq, chain hash, epoch, store id, state hash; see
//	                  snapshot.go), and last-drill.result of the last restore drill
//
// # Journal format
//
// A segment is named by the sequence of its first record
// (%020d.pvj) and is sealed once it passes Options.SegmentSize (64 MiB).
// It starts with a 36-byte header:
//
//	"PVJRNL01" | store id [16] | first seq u64 LE | crc32c(previous 32 bytes) u32 LE
//
// followed by frames:
//
//	payload length u32 LE | crc32c(payload) u32 LE (Castagnoli) | payload
//
// The payload is: format version (1) byte, op byte, seq uvarint, time varint
// (Unix ns), previous chain hash [32], then the length-prefixed (uvarint)
// principal, collection, name, etag, to-collection, to-name, kind, uid and
// component; a span flag byte (and start, end varints); the properties as a
// count and sorted name/value pairs; the names of removed properties; the
// body; and, only when not zero, a uvarint of flags (bit 0: replace-props).
// Records without flags have the bytes they always had; a zero flags value
// is damage.
//
// Operations added without a format change: set-props with a name sets the
// dead properties of that object; put carries properties to set on the
// object (with replace-props, the object's properties become exactly those:
// a COPY); delete-collection with a name also deletes, in the same record,
// every collection whose name starts with it (a nested subtree, tree.go). The chain hash of a record is SHA-256 of its payload, and each payload
// carries the chain hash of the record before it, so a missing, reordered or
// altered record breaks the chain.
//
// Queued mail (outbox.go) was added without a format change: a put, delete
// or collection delete carries it as record properties under OutboxKey,
// an annotation that older versions skip, and applying the record writes
// them into the principal's state bucket; each entry has its own format
// byte, and a higher one is refused with a *NewerError.
//
// Operation 11 (principal-state) was added after format version 1 without
// changing it: its record uses the existing fields (principal, props,
// removed names), so older records decode as before; a version that does
// not know operation 11 refuses a store written by this one as newer.
//
// On Open every segment after the base is read and checked (header, store id, contiguous
// sequence numbers, CRC, chain). A bad frame in the last segment with no valid
// frame after it, past what store.db applied, is a torn write that was never
// acknowledged: the bytes are kept in <segment>.broken-<offset> and the segment
// is truncated. Only a frame whose checksum fails, or that runs past the end,
// is torn; one whose checksum holds was written whole. Any other damage (a bad frame followed by valid ones, damage
// in a sealed segment, a missing segment, a store.db ahead of the journal)
// refuses to open.
//
// # Versions and migrations
//
// Every format carries its version: the segment magic "PVJRNL01" (the two
// digits), the first byte of each record payload, the operation byte, the
// record flags, store.db's meta "schema" key and IDENTITY's "format". A
// reader that meets a higher one than it knows refuses with a *NewerError
// ("written by a newer pimvault (…); run pimvault ≥ X") and changes
// nothing: a frame whose checksum holds is never a torn tail, so it is never
// cut, and nothing is quarantined, rebuilt or migrated (formats.go). The
// meta bucket's "schema" and "min_release" keys are kept by every schema,
// so any version can say which release reads a newer store.db.
//
// store.db schemas are reached by the migration registry (migrate.go): with
// Options.Upgrade, Open checks the whole journal, writes a verified
// snapshot of the old store.db into snapshots/pre-upgrade-*, then migrates
// it in one bbolt transaction, or builds a new store.db from the journal;
// without it an older schema is an *UpgradeNeededError. The journal is never
// migrated: old records are read as they are. The state hash does not
// depend on the schema (the schema key counts as 1, min_release and
// migrations are left out), so it is the same before and after a migration.
//
// bbolt panics on damaged pages; Open walks an existing store.db's pages
// on its own goroutine first and turns such a panic into a
// *CorruptionError that advises a rebuild (boltsafe.go).
//
// # store.db buckets
//
//	meta        schema, store_id, epoch, applied_seq, chain_hash; from
//	            schema 2 also min_release (lowest release that reads it)
//	            and migrations (JSON history of its migrations)
//	epochs      seq u64 BE → epoch id
//	principals  name → live byte | seq u64 BE | account data
//	data/<principal>/coltombs            collection → seq u64 BE of its deletion
//	data/<principal>/state               principal state (recovery.go): "recovery" → JSON
//	                                     RecoveryState, "device/<id>" → JSON DeviceInfo,
//	                                     OutboxKey+"<id>" → queued mail: format byte + JSON (outbox.go)
//	data/<principal>/cols/<collection>   key "info" (kind, created, last, pruned seq, count, bytes) and buckets:
//	    props    property name → raw value
//	    objprops object name → count, sorted property name/value pairs (created on first use)
//	    objects  name → etag, uid, component, span, seq, time, size
//	    bodies   name → body, byte for byte as stored
//	    changes  seq u64 BE → put|delete byte + name (one entry per name: its latest change)
//	    tombs    name → seq u64 BE, time varint, etag of what was deleted
//	    uids     uid → name
//	    spans    sortable start u64 BE + name → sortable end
//
// # Durability of store.db
//
// store.db is written without fsync by default (Options.SyncProjection): the
// journal alone makes a change durable. While a store is open the DIRTY file
// holds the kernel boot id. If a process dies, the kernel still has every
// store.db write, so reopening only replays the journal tail. If DIRTY names
// an earlier boot, the machine crashed and store.db may be torn: it is moved
// to quarantine/ and rebuilt from the journal.
package storage
