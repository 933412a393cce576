package device

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/pimvault/pimvault/syncproto"
)

// Headers of the recovery protocol, as syncproto defines them.
const (
	HeaderDevice     = syncproto.HeaderDevice
	HeaderEpoch      = syncproto.HeaderEpoch
	HeaderRecovering = syncproto.HeaderRecovering
	HeaderExisting   = syncproto.HeaderExisting
	HeaderToken      = syncproto.HeaderToken
)

// Transport is what the sync engine needs from a server. HTTPTransport is
// the real one; tests use fakes.
type Transport interface {
	// Collections discovers the address books and calendars of the user
	// from both home sets. CalendarsKnown is false when the calendar home
	// could not be listed (a server without CalDAV): missing calendars are
	// then not evidence of anything.
	Collections(ctx context.Context) (Discovery, error)
	// MakeCollection creates a collection the server lacks. When c.Token
	// is set, a server that deleted the collection after that token answers
	// 410 (a *StatusError): the device's copy predates the deletion.
	MakeCollection(ctx context.Context, c Collection) error
	// SyncCollection runs the sync-collection REPORT (RFC 6578) with token
	// ("" for an initial sync), asking for ETags only.
	SyncCollection(ctx context.Context, href, token string) (Listing, error)
	// MultiGet fetches bodies (addressbook-multiget / calendar-multiget);
	// hrefs the server does not hold are left out.
	MultiGet(ctx context.Context, c Collection, hrefs []string) ([]Fetched, error)
	// Put writes a body with If-Match: ifMatch (when not "") or
	// If-None-Match: * (when ifNoneMatch).
	Put(ctx context.Context, href string, kind Kind, body []byte, ifMatch string, ifNoneMatch bool) (PutResult, error)
	// Delete deletes with If-Match: ifMatch (when not "").
	Delete(ctx context.Context, href, ifMatch string) (ServerInfo, error)
	// RecoveryDone reports that this device finished reconciling.
	RecoveryDone(ctx context.Context) error
}

// ServerInfo is what a response says about the store (its epoch headers).
type ServerInfo struct {
	Epoch      string // X-Pimvault-Epoch; "" if absent
	Recovering bool   // X-Pimvault-Recovering: 1
}

// Discovery is the result of Transport.Collections.
type Discovery struct {
	Collections    []Collection
	CalendarsKnown bool
	Info           ServerInfo
}

// Member is one entry of a sync-collection answer.
type Member struct {
	Href string
	ETag string
}

// Listing is a sync-collection answer.
type Listing struct {
	Members []Member // present objects (200)
	Deleted []string // removed objects (404): tombstones
	Token   string   // the new sync token
	Info    ServerInfo
}

// Fetched is one body from a multiget or GET.
type Fetched struct {
	Href string
	ETag string
	Body []byte
}

// PutResult is the answer to a PUT.
type PutResult struct {
	ETag     string
	Created  bool
	Existing string // X-Pimvault-Existing: an identical object lives there
	Info     ServerInfo
}

// StatusError is a non-success HTTP answer.
type StatusError struct {
	Op, Href     string
	Code         int
	RetryAfter   time.Duration // from Retry-After, 0 if absent
	Precondition string        // e.g. "no-uid-conflict", "valid-sync-token"
	ConflictHref string        // the href a no-uid-conflict names
	Info         ServerInfo
	Msg          string // start of the body
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Op, e.Href, e.Code)
	if e.Precondition != "" {
		s += " (" + e.Precondition + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// statusCode returns the HTTP status of err, or 0.
func statusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// retryable reports whether err is worth retrying after a pause: shedding
// (503, 429), a gateway error, or a network failure.
func retryable(err error) (bool, time.Duration) {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
			return true, se.RetryAfter
		}
		return false, 0
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true, 0
	}
	var oe *net.OpError
	return errors.As(err, &oe), 0
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		// A delay too large for a Duration (ParseUint's range error) is
		// as long as a Duration can be; the caller caps it anyway.
		if err != nil || n > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func infoFrom(h http.Header) ServerInfo {
	return ServerInfo{Epoch: h.Get(HeaderEpoch), Recovering: h.Get(HeaderRecovering) == "1"}
}
