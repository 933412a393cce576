package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// userPassword returns the password the admin gave, or a generated one and a
// line that prints it once.
func userPassword(req Request) (pw, shown string) {
	if pw = req.Password; pw != "" {
		return pw, ""
	}
	pw = account.GeneratePassword()
	return pw, fmt.Sprintf("password: %s\n", pw)
}

func userAdd(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	pw, shown := userPassword(req)
	if err := account.AddUser(ctx, s, req.User, pw); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s created\n%s", req.User, shown)}, nil
}

func userPasswd(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	pw, shown := userPassword(req)
	if err := account.SetPassword(ctx, s, req.User, pw); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("password of %s changed\n%s", req.User, shown)}, nil
}

func userDisable(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetDisabled(ctx, s, req.User, true); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s disabled\n", req.User)}, nil
}

func userEnable(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetDisabled(ctx, s, req.User, false); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s enabled\n", req.User)}, nil
}

func userDelete(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	seq, err := account.DeleteUser(ctx, s, req.User)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s deleted at sequence %d; the data stays in the journal: 'pimvault undo --user %s --to-seq %d' brings the account back\n", req.User, seq, req.User, seq-1)}, nil
}

func userEmail(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetEmails(ctx, s, req.User, req.Emails); err != nil {
		return Result{}, err
	}
	p, err := s.Principal(req.User)
	if err != nil {
		return Result{}, err
	}
	a, err := account.Decode(p)
	if err != nil {
		return Result{}, err
	}
	if len(a.Emails) == 0 {
		return Result{Output: fmt.Sprintf("user %s has no e-mail addresses\n", req.User)}, nil
	}
	return Result{Output: fmt.Sprintf("e-mail addresses of %s: %s\n", req.User, strings.Join(a.Emails, " "))}, nil
}

func userAdmin(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetAdmin(ctx, s, req.User, true); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s is an admin\n", req.User)}, nil
}

func userUnadmin(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if err := account.SetAdmin(ctx, s, req.User, false); err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("user %s is no longer an admin\n", req.User)}, nil
}

func userList(_ context.Context, s *storage.Store, _ Request) (Result, error) {
	ps, err := s.Principals()
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	for _, p := range ps {
		a, err := account.Decode(p)
		if err != nil {
			return Result{}, err
		}
		state := "active"
		if a.Disabled {
			state = "disabled"
		}
		if a.Admin {
			state += ",admin"
		}
		fmt.Fprintf(&b, "%s\t%s\tcreated %s", p.Name, state, a.Created.Format(time.RFC3339))
		if len(a.Emails) > 0 {
			fmt.Fprintf(&b, "\t%s", strings.Join(a.Emails, ","))
		}
		b.WriteString("\n")
	}
	return Result{Output: b.String()}, nil
}
