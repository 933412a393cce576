package syncproto

// DeletedSince decides whether a device's copy of a collection predates
// the collection's deletion on the server. tok is the device's last sync
// token of the collection; deletedSeq is the sequence of the server's
// collection tombstone. The device then deletes its copy instead of
// creating the collection again on the server.
//
// It answers true only when the token names a state of the store's own
// history (the current epoch at or below the head, or an earlier epoch at
// or below its fork) and that state is before the deletion. Every other
// case answers false, and the collection is created again: a token from a
// history the store does not hold (a store rebuilt from nothing, a store
// rolled back) proves nothing about what happened after it, and absence is
// never evidence of deletion (invariant 3 of docs/ARCHITECTURE.md). It is
// pure and total; an inconsistent store answers false.
func DeletedSince(tok Token, deletedSeq uint64, s Store) bool {
	if s.Validate() != nil || deletedSeq == 0 || deletedSeq > s.Head || tok.Seq > s.Head {
		return false
	}
	if tok.Epoch != s.Epoch {
		fork, known := s.Earlier[tok.Epoch]
		if !known || tok.Seq > fork {
			return false
		}
	}
	return tok.Seq < deletedSeq
}
