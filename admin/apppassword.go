package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

func appPasswordAdd(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	id, token, err := account.AddAppPassword(ctx, s, req.User, req.Label)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("app password %s (%s) created for %s; it is shown only now:\n%s\n", id, req.Label, req.User, token)}, nil
}

func appPasswordList(_ context.Context, s *storage.Store, req Request) (Result, error) {
	aps, err := account.AppPasswords(s, req.User)
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	for _, ap := range aps {
		used := "never used"
		if !ap.LastUsed.IsZero() {
			used = "last used " + ap.LastUsed.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s\t%s\tcreated %s\t%s\n", ap.ID, ap.Label, ap.Created.Format(time.RFC3339), used)
	}
	return Result{Output: b.String()}, nil
}

func appPasswordRevoke(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.RevokeAppPassword(ctx, s, req.User, req.ID); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("app password %s of %s revoked\n", req.ID, req.User)}, nil
}
