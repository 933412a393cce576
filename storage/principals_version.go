package storage

import bolt "go.etcd.io/bbolt"

// The principals bucket's bbolt sequence counts the records that wrote or
// deleted a principal: applying such a record (live, replicated or
// replayed) increments it in the same transaction. It is not part of the
// state hash; callers only compare it with a value they read before, to
// know whether what they derived from Principals is still current.
func bumpPrincipalsVersion(tx *bolt.Tx) error {
	_, err := tx.Bucket(bktPrincipals).NextSequence()
	return err
}

// PrincipalsVersion changes whenever a principal (an account, its e-mail
// addresses, its password) is written or deleted, by this process, by
// replication or by a rebuild. Read it before reading the principals: a
// cache filled after reading version v is current while the version is v.
func (s *Store) PrincipalsVersion() (uint64, error) {
	var v uint64
	err := s.view(func(tx *bolt.Tx) error {
		v = tx.Bucket(bktPrincipals).Sequence()
		return nil
	})
	return v, err
}
