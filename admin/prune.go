package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pimvault/pimvault/storage"
)

func init() { adminCommands["prune"] = adminPrune }

// adminPrune applies journal retention (storage.Store.Prune). Args:
// "retention" (a Go duration, required, > 0) and "dry-run" ("1").
func adminPrune(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	retention, err := time.ParseDuration(args["retention"])
	if err != nil || retention <= 0 {
		return AdminResult{}, fmt.Errorf("retention %q: give a positive duration such as 720h", args["retention"])
	}
	rep, err := s.Prune(ctx, retention, args["dry-run"] == "1")
	if errors.Is(err, storage.ErrNothingToPrune) {
		return AdminResult{Output: err.Error() + "\n"}, nil
	}
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: rep.String()}, nil
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
