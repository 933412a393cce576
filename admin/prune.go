package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/pimvault/pimvault/storage"
)

// prune applies journal retention (storage.Store.Prune): req.Retention
// (required, > 0) and req.DryRun.
func prune(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if req.Retention <= 0 {
		return Result{}, fmt.Errorf("retention %q: give a positive duration such as 720h", req.Retention.String())
	}
	rep, err := s.Prune(ctx, req.Retention, req.DryRun)
	if errors.Is(err, storage.ErrNothingToPrune) {
		return Result{Output: err.Error() + "\n"}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Output: rep.String()}, nil
}

// journalBaseStatus is the status line for the journal's base.
func journalBaseStatus(s *storage.Store) string {
	b, err := s.JournalBase()
	switch {
	case err != nil:
		return fmt.Sprintf("journal base: %v\n", err)
	case b.Seq == 0:
		return "journal base: none (the journal starts at sequence 1)\n"
	}
	return fmt.Sprintf("journal base: records up to sequence %d pruned; covered by snapshot %s (sequence %d)\n", b.Seq, b.Snapshot, b.SnapSeq)
}
