package admin

import (
	"context"
	"fmt"
	"sort"
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
	// The pimvault devices that signed in with each (stock clients are not
	// in the registry: the last use is theirs).
	st, err := s.PrincipalState(req.User)
	if err != nil {
		return Result{}, err
	}
	devices := map[string][]string{}
	for id, d := range st.Devices {
		if d.AppPasswordID != "" && d.CredentialRevoked.IsZero() {
			devices[d.AppPasswordID] = append(devices[d.AppPasswordID], id)
		}
	}
	var b strings.Builder
	for _, ap := range aps {
		used := "never used"
		if !ap.LastUsed.IsZero() {
			used = "last used " + ap.LastUsed.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s\t%s\tcreated %s\t%s", ap.ID, ap.Label, ap.Created.Format(time.RFC3339), used)
		if ids := devices[ap.ID]; len(ids) > 0 {
			sort.Strings(ids)
			fmt.Fprintf(&b, "\tdevices: %s", strings.Join(ids, " "))
		}
		b.WriteString("\n")
	}
	return Result{Output: b.String()}, nil
}

func appPasswordRevoke(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	window := storage.DefaultRecoveryDeviceWindow
	if req.WindowDays != 0 {
		var err error
		if window, err = storage.DaysArg("window-days", req.WindowDays); err != nil {
			return Result{}, err
		}
	}
	out, err := account.RevokeAppPasswordWithin(ctx, s, req.User, req.ID, window)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("app password %s of %s revoked: the next request made with it gets 401\n", req.ID, req.User) +
		revocationText(s, req.User, out)}, nil
}

// revocationText says what revoking an app password did to the device
// registry and to a recovery.
func revocationText(s *storage.Store, user string, out storage.CredentialRevocation) string {
	st, err := s.PrincipalState(user)
	if err != nil {
		st = storage.PrincipalState{}
	}
	var b strings.Builder
	if len(out.Devices) == 0 {
		b.WriteString("no pimvault device had signed in with it\n")
	} else {
		fmt.Fprintf(&b, "devices marked (revoked credential): %s\n", strings.Join(storage.DeviceLabels(st, out.Devices), ", "))
	}
	switch {
	case out.Closed:
		fmt.Fprintf(&b, "recovery of %s closed: every other device seen recently had reported, and these can no longer sign in to report\n", user)
	case out.NoReport:
		fmt.Fprintf(&b, "%s stays RECOVERING: no longer waiting for these devices, but no device has reported for this recovery; once the data is back, close it with 'pimvault recovery close --user %s'\n", user, user)
	case out.Recovering && len(out.Devices) > 0:
		fmt.Fprintf(&b, "%s stays RECOVERING, no longer waiting for these devices; still waiting for: %s\n", user, strings.Join(storage.DeviceLabels(st, out.Waiting), ", "))
	}
	return b.String()
}
