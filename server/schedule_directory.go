package server

// cachedDirectory is the directory built at one PrincipalsVersion.
type cachedDirectory struct {
	version uint64
	dir     *directory
}

// loadDirectory returns the directory of calendar user addresses. It is
// built from every account once and kept until an account is written or
// deleted (storage.PrincipalsVersion, which the store changes in the same
// transaction as the account, whichever process, replica or rebuild wrote
// it), so a scheduling request costs one small read instead of decoding
// every account. The version is read before the accounts: a directory
// cached under a version never holds older data than that version says.
func (s *Server) loadDirectory() (*directory, error) {
	v, err := s.store.PrincipalsVersion()
	if err != nil {
		return nil, err
	}
	if c := s.dirCache.Load(); c != nil && c.version == v {
		return c.dir, nil
	}
	d, err := s.buildDirectory()
	if err != nil {
		return nil, err
	}
	s.dirCache.Store(&cachedDirectory{version: v, dir: d})
	return d, nil
}
