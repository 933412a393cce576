package server

import (
	"sync"

	"github.com/pimvault/pimvault/storage"
)

// What spanMatch and expandsToItself read from a body (is its stored span
// exact, does it name a TZID) is a scan of the whole body, done for every
// candidate of every query; the answers are kept by ETag, which is a hash
// of the body, so they hold for as long as the ETag exists.

const (
	factKnown byte = 1 << iota
	factExact
	factTZID
)

// maxBodyFacts bounds the memo (about 100 bytes an entry); it is cleared
// when full, as calendar's rule cache is.
const maxBodyFacts = 1 << 16

var bodyFactsMemo = struct {
	sync.Mutex
	m map[string]byte
}{m: map[string]byte{}}

// bodyFacts returns the facts of o's body, computed once per ETag.
func bodyFacts(o storage.Object) byte {
	if o.ETag != "" {
		bodyFactsMemo.Lock()
		f := bodyFactsMemo.m[o.ETag]
		bodyFactsMemo.Unlock()
		if f != 0 {
			return f
		}
	}
	f := factKnown
	if spanIsExact(o.Body) {
		f |= factExact
	}
	if containsFoldASCII(o.Body, "TZID") {
		f |= factTZID
	}
	if o.ETag != "" {
		bodyFactsMemo.Lock()
		if len(bodyFactsMemo.m) >= maxBodyFacts {
			clear(bodyFactsMemo.m)
		}
		bodyFactsMemo.m[o.ETag] = f
		bodyFactsMemo.Unlock()
	}
	return f
}
