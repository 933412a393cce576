package admin

import (
	"context"
	"errors"

	"github.com/pimvault/pimvault/storage"
)

// promoter is a standby's replication: it can make the server the primary.
type promoter interface {
	PromoteAdmin(ctx context.Context, force bool) (string, error)
}

// promote makes a running standby the primary (pimvault promote); Force
// takes over without waiting for the old primary's lease to expire.
func promote(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	p, ok := s.Replicator().(promoter)
	if !ok {
		return Result{}, errors.New("this server is not a standby: promote runs against a server started with 'serve --follow'")
	}
	out, err := p.PromoteAdmin(ctx, req.Force)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: out}, nil
}
