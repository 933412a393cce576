// Prefill: write the generated contacts of a book as .vcf files into a
// folder, without any request. run-radicale.sh uses it to give Radicale a
// book of 10,000 contacts (its multifilesystem storage keeps one file per
// contact, named by its href) that PUTs at Radicale's speed would take hours
// to build; the first sync and sync scenarios then run on it as usual.

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFiles writes contacts 0..n-1 of the book named by which ("main" or
// "sync", as pvload names them with this seed) into dir, refusing to
// overwrite a file.
func writeFiles(dir, which string, seed uint64, n int) error {
	prefix := map[string]string{"main": "m", "sync": "s"}[which]
	if prefix == "" {
		return fmt.Errorf("--write-book %q: want main or sync", which)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	g := newContactGen(seed, prefix)
	for i := 0; i < n; i++ {
		_, body := g.card(i, 0)
		f, err := os.OpenFile(filepath.Join(dir, g.name(i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
