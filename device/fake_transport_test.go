package device

import (
	"bytes"
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/pimvault/pimvault/syncproto"
)

// fakeServer is an in-memory server that follows the protocol the engine
// expects (sync tokens per epoch, tombstones, preconditions, 409 on a lost
// history, deduplicated uploads), so the engine's decisions can be tested
// without the real binary. The end-to-end tests in cmd/pimvault use the
// real server.
type fakeServer struct {
	mu         sync.Mutex
	epoch      string
	seq        uint64
	recovering bool
	colls      map[string]*fakeColl
	done       int            // RecoveryDone calls
	fail       map[string]int // op → number of 503s still to answer
	retryAfter string
	// forget makes SyncCollection answer 403 valid-sync-token to any
	// token (a server whose change history was pruned).
	forget bool
	// onPut, when set, runs before each Put (another writer racing).
	onPut func(href string)
	puts  int // Put calls
}

type fakeColl struct {
	kind    Kind
	objs    map[string][]byte
	changed map[string]uint64 // href → seq of the last change
	deleted map[string]bool   // href → tombstone
	uids    map[string]string // UID → href (stale entries are checked against objs)
}

func newFakeServer(epoch string, colls ...Collection) *fakeServer {
	s := &fakeServer{epoch: epoch, colls: map[string]*fakeColl{}, fail: map[string]int{}}
	for _, c := range colls {
		s.colls[c.Href] = &fakeColl{kind: c.Kind, objs: map[string][]byte{}, changed: map[string]uint64{}, deleted: map[string]bool{}, uids: map[string]string{}}
	}
	return s
}

func (s *fakeServer) info() ServerInfo { return ServerInfo{Epoch: s.epoch, Recovering: s.recovering} }

func (s *fakeServer) shed(op string) error {
	if s.fail[op] > 0 {
		s.fail[op]--
		return &StatusError{Op: op, Code: http.StatusServiceUnavailable, RetryAfter: parseRetryAfter(s.retryAfter, timeZero), Info: s.info()}
	}
	return nil
}

func (s *fakeServer) coll(href string) (*fakeColl, string) {
	i := strings.LastIndexByte(strings.TrimSuffix(href, "/"), '/')
	c := s.colls[href[:i+1]]
	return c, href[:i+1]
}

// put writes directly (another client's change).
func (s *fakeServer) put(href string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _ := s.coll(href)
	s.seq++
	c.objs[href], c.changed[href] = bytes.Clone(body), s.seq
	if uid, err := ParseUID(c.kind, body); err == nil {
		c.uids[uid] = href
	}
	delete(c.deleted, href)
}

func (s *fakeServer) Collections(ctx context.Context) (Discovery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.shed("discover"); err != nil {
		return Discovery{}, err
	}
	d := Discovery{CalendarsKnown: true, Info: s.info()}
	for h, c := range s.colls {
		d.Collections = append(d.Collections, Collection{Href: h, Kind: c.kind})
	}
	sort.Slice(d.Collections, func(i, j int) bool { return d.Collections[i].Href < d.Collections[j].Href })
	return d, nil
}

func (s *fakeServer) MakeCollection(ctx context.Context, c Collection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.colls[c.Href] = &fakeColl{kind: c.Kind, objs: map[string][]byte{}, changed: map[string]uint64{}, deleted: map[string]bool{}, uids: map[string]string{}}
	return nil
}

func (s *fakeServer) SyncCollection(ctx context.Context, href, token string) (Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.shed("sync"); err != nil {
		return Listing{}, err
	}
	c := s.colls[href]
	since, initial := uint64(0), token == ""
	if !initial {
		tok, err := syncproto.Parse(token)
		switch {
		case err != nil:
			return Listing{}, &StatusError{Code: 403, Precondition: "valid-sync-token", Info: s.info()}
		case tok.Epoch != s.epoch || tok.Seq > s.seq:
			s.recovering = true
			return Listing{}, &StatusError{Code: 409, Info: s.info()}
		case s.forget && tok.Seq > 0:
			return Listing{}, &StatusError{Code: 403, Precondition: "valid-sync-token", Info: s.info()}
		}
		since = tok.Seq
	}
	l := Listing{Token: syncproto.Format(syncproto.Token{Epoch: s.epoch, Seq: s.seq}), Info: s.info()}
	for h, seq := range c.changed {
		if seq <= since && !initial {
			continue
		}
		if b, ok := c.objs[h]; ok {
			l.Members = append(l.Members, Member{Href: h, ETag: ETagOf(b)})
		} else if !initial && c.deleted[h] {
			l.Deleted = append(l.Deleted, h)
		}
	}
	return l, nil
}

func (s *fakeServer) MultiGet(ctx context.Context, c Collection, hrefs []string) ([]Fetched, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Fetched
	for _, h := range hrefs {
		if b, ok := s.colls[c.Href].objs[h]; ok {
			out = append(out, Fetched{Href: h, ETag: ETagOf(b), Body: bytes.Clone(b)})
		}
	}
	return out, nil
}

func (s *fakeServer) Put(ctx context.Context, href string, kind Kind, body []byte, ifMatch string, ifNoneMatch bool) (PutResult, error) {
	if s.onPut != nil {
		s.onPut(href)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if err := s.shed("put"); err != nil {
		return PutResult{}, err
	}
	c, _ := s.coll(href)
	if c == nil {
		return PutResult{}, &StatusError{Code: 409, Msg: "no collection"}
	}
	uid, err := ParseUID(kind, body)
	if err != nil {
		return PutResult{}, &StatusError{Code: 403, Precondition: "valid-address-data"}
	}
	if h, ok := c.uids[uid]; ok && h != href {
		if b, ok := c.objs[h]; ok {
			if bytes.Equal(b, body) && ifNoneMatch {
				return PutResult{ETag: ETagOf(b), Existing: h, Info: s.info()}, nil
			}
			return PutResult{}, &StatusError{Code: 409, Precondition: "no-uid-conflict", ConflictHref: h, Info: s.info()}
		}
	}
	cur, exists := c.objs[href]
	switch {
	case ifNoneMatch && exists && bytes.Equal(cur, body):
		return PutResult{ETag: ETagOf(cur), Info: s.info()}, nil
	case ifNoneMatch && exists, ifMatch != "" && (!exists || ETagOf(cur) != ifMatch):
		return PutResult{}, &StatusError{Code: 412, Info: s.info()}
	}
	s.seq++
	c.objs[href], c.changed[href], c.uids[uid] = bytes.Clone(body), s.seq, href
	delete(c.deleted, href)
	return PutResult{ETag: ETagOf(body), Created: !exists, Info: s.info()}, nil
}

func (s *fakeServer) Delete(ctx context.Context, href, ifMatch string) (ServerInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _ := s.coll(href)
	cur, ok := c.objs[href]
	switch {
	case !ok:
		return s.info(), &StatusError{Code: 404, Info: s.info()}
	case ifMatch != "" && ETagOf(cur) != ifMatch:
		return s.info(), &StatusError{Code: 412, Info: s.info()}
	}
	s.seq++
	delete(c.objs, href)
	c.changed[href], c.deleted[href] = s.seq, true
	return s.info(), nil
}

func (s *fakeServer) RecoveryDone(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done++
	return nil
}

// bodies returns href → body of a collection.
func (s *fakeServer) bodies(coll string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for h, b := range s.colls[coll].objs {
		out[h] = string(b)
	}
	return out
}
