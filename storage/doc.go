// Package storage is pimvault's journal-first store: an append-only journal
// that holds every change with its full body, and a bbolt projection of the
// current state built from it (DESIGN.md §2 and §4). It never imports
// net/http or encoding/xml.
//
// # Invariants
//
//   - Acknowledged means durable: Commit returns only after the change's
//     journal record is fdatasynced and applied to store.db.
//   - store.db is a projection: it can be rebuilt from the journal alone to the
//     same state hash, and it stores the last sequence and chain hash it
//     applied in the same bbolt transaction as the data.
//   - Preconditions (If-Match, If-None-Match: *, UID unique in a collection,
//     existence) are checked by the single committer inside the write, against
//     the current state plus the earlier changes of the same batch.
//   - Damage to acknowledged data is never served: Open refuses with a
//     *CorruptionError that says what is damaged and what to do.
//
// # Data directory
//
//	IDENTITY          JSON: format, store_id (32 hex digits), created
//	LOCK              flock held by the process that has the store open (holds its pid)
//	DIRTY             present while open: "<boot id> sync|nosync"
//	store.db          bbolt projection
//	store.db.rebuild  store.db being built from the journal; renamed to store.db once complete
//	journal/          segments (may be elsewhere: Options.JournalDir)
//	quarantine/       files moved aside instead of deleted (old store.db, …)
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
// count and sorted name/value pairs; the names of removed properties; and the
// body. The chain hash of a record is SHA-256 of its payload, and each payload
// carries the chain hash of the record before it, so a missing, reordered or
// altered record breaks the chain.
//
// On Open every segment is read and checked (header, store id, contiguous
// sequence numbers, CRC, chain). A bad frame in the last segment with no valid
// frame after it, past what store.db applied, is a torn write that was never
// acknowledged: the bytes are kept in <segment>.broken-<offset> and the segment
// is truncated. Any other damage (a bad frame followed by valid ones, damage
// in a sealed segment, a missing segment, a store.db ahead of the journal)
// refuses to open.
//
// # store.db buckets
//
//	meta        schema, store_id, epoch, applied_seq, chain_hash
//	epochs      seq u64 BE → epoch id
//	principals  name → live byte | seq u64 BE | account data
//	data/<principal>/coltombs            collection → seq u64 BE of its deletion
//	data/<principal>/cols/<collection>   key "info" (kind, created, last, pruned seq, count, bytes) and buckets:
//	    props    property name → raw value
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
