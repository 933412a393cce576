package server

import (
	"context"
	"errors"

	"github.com/pimvault/pimvault/storage"
)

func init() {
	adminCommands["promote"] = adminPromote
}

// promoter is a standby's replication: it can make the server the primary.
type promoter interface {
	PromoteAdmin(ctx context.Context, force bool) (string, error)
}

// adminPromote makes a running standby the primary (pimvault promote).
func adminPromote(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	p, ok := s.Replicator().(promoter)
	if !ok {
		return AdminResult{}, errors.New("this server is not a standby: promote runs against a server started with 'serve --follow'")
	}
	out, err := p.PromoteAdmin(ctx, args["force"] == "true")
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: out}, nil
}
