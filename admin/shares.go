package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/birthday"
	"github.com/pimvault/pimvault/storage"
)

func userBirthdays(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if _, err := s.Principal(req.User); err != nil {
		return Result{}, fmt.Errorf("user %q: %w", req.User, err)
	}
	if !req.On {
		if err := birthday.Disable(ctx, s, req.User); err != nil {
			return Result{}, err
		}
		return Result{Output: fmt.Sprintf("birthday calendar of %s deleted\n", req.User)}, nil
	}
	if err := birthday.Enable(ctx, s, req.User); err != nil {
		return Result{}, err
	}
	n := 0
	s.Objects(req.User, birthday.Collection, false, func(storage.Object) error { n++; return nil })
	return Result{Output: fmt.Sprintf("birthday calendar of %s: %d events\n", req.User, n)}, nil
}

func shareAdd(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	access := req.Access
	if access == "" {
		access = account.ShareRead
	}
	if err := account.SetShare(ctx, s, req.User, req.Collection, req.Sharee, access); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("%s/%s shared with %s (%s)\n", req.User, req.Collection, req.Sharee, access)}, nil
}

func shareRemove(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetShare(ctx, s, req.User, req.Collection, req.Sharee, ""); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("%s/%s no longer shared with %s\n", req.User, req.Collection, req.Sharee)}, nil
}

// shareList lists grants with their state: accepted (the administrator's
// share-add, or an accepted invitation), invited or declined.
func shareList(_ context.Context, s *storage.Store, req Request) (Result, error) {
	shares, err := account.SharesOf(s, req.User)
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	for _, sh := range shares {
		fmt.Fprintf(&b, "%s/%s\t%s\t%s\t%s\t%s\n", sh.Owner, sh.Collection, sh.Kind, sh.Sharee, sh.Access, sh.Status)
	}
	return Result{Output: b.String()}, nil
}
