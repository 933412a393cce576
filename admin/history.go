package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// defaultHistory is how many changes history lists without a limit.
const defaultHistory = 50

// history lists req.User's latest changes (to req.Collection when given),
// newest first, one a line: sequence, time, operation, what changed, and
// who made it: the account itself, or the sharee who wrote to a shared
// collection.
func history(_ context.Context, s *storage.Store, req Request) (Result, error) {
	if _, err := s.Principal(req.User); err != nil {
		return Result{}, fmt.Errorf("user %q: %w", req.User, err)
	}
	limit := req.Limit
	if limit == 0 {
		limit = defaultHistory
	}
	if limit < 0 || limit > storage.MaxHistory {
		return Result{}, fmt.Errorf("limit must be between 1 and %d", storage.MaxHistory)
	}
	entries, err := s.History(req.User, req.Collection, limit)
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	for _, e := range entries {
		what := e.Collection
		if e.Name != "" {
			what += "/" + e.Name
		}
		if e.ToCollection != "" {
			what += " -> " + e.ToCollection + "/" + e.ToName
		}
		by := e.By
		if by == "" {
			by = req.User
		}
		fmt.Fprintf(&b, "%d\t%s\t%s\t%s\tby %s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Op, what, by)
	}
	return Result{Output: b.String()}, nil
}
