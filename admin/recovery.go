package admin

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// Admin commands of the recovery state: pimvault recovery open|close|status.

func recoveryUser(s *storage.Store, req Request) (string, error) {
	name := req.User
	if err := storage.ValidateName("user", name); err != nil {
		return "", err
	}
	if _, err := s.Principal(name); err != nil {
		return "", fmt.Errorf("user %s: %w", name, err)
	}
	return name, nil
}

func recoveryOpen(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	user, err := recoveryUser(s, req)
	if err != nil {
		return Result{}, err
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		reason = "opened by an admin"
	}
	opened, err := s.OpenRecovery(ctx, user, reason, "")
	if err != nil {
		return Result{}, err
	}
	if !opened {
		return Result{Output: fmt.Sprintf("%s is already RECOVERING\n", user)}, nil
	}
	return Result{Output: fmt.Sprintf("%s is now RECOVERING: stock clients get 503 until 'pimvault recovery close --user %s' or every recent device reports\n", user, user)}, nil
}

func recoveryClose(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	user, err := recoveryUser(s, req)
	if err != nil {
		return Result{}, err
	}
	closed, err := s.CloseRecovery(ctx, user, "closed by an admin")
	if err != nil {
		return Result{}, err
	}
	if !closed {
		return Result{Output: fmt.Sprintf("%s is not RECOVERING; nothing changed\n", user)}, nil
	}
	return Result{Output: fmt.Sprintf("recovery of %s closed: served normally again\n", user)}, nil
}

// recoveryExpect names the devices known before the loss; the recovery
// closes by itself once each of them (and every device seen within the
// window) has reported.
func recoveryExpect(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	user, err := recoveryUser(s, req)
	if err != nil {
		return Result{}, err
	}
	if len(req.Devices) == 0 {
		return Result{}, fmt.Errorf("recovery-expect: no device named: %w", storage.ErrInvalidChange)
	}
	window := storage.DefaultRecoveryDeviceWindow
	if req.WindowDays != 0 {
		if window, err = storage.DaysArg("window-days", req.WindowDays); err != nil {
			return Result{}, err
		}
	}
	closed, waiting, err := s.ExpectDevices(ctx, user, req.Devices, window)
	if err != nil {
		return Result{}, err
	}
	if closed {
		return Result{Output: fmt.Sprintf("every device known before the loss has reported: recovery of %s closed\n", user)}, nil
	}
	st, err := s.PrincipalState(user)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("%s stays RECOVERING until these devices report: %s\n", user, strings.Join(storage.DeviceLabels(st, waiting), ", "))}, nil
}

func recoveryStatus(_ context.Context, s *storage.Store, req Request) (Result, error) {
	user, err := recoveryUser(s, req)
	if err != nil {
		return Result{}, err
	}
	window := storage.DefaultRecoveryDeviceWindow
	if req.WindowDays != 0 {
		var err error
		if window, err = storage.DaysArg("window-days", req.WindowDays); err != nil {
			return Result{}, err
		}
	}
	st, err := s.PrincipalState(user)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: formatRecoveryStatus(user, st, window, time.Now())}, nil
}

func formatRecoveryStatus(user string, st storage.PrincipalState, window time.Duration, now time.Time) string {
	var b strings.Builder
	rec := st.Recovery
	if rec.Recovering {
		fmt.Fprintf(&b, "user: %s\nstate: RECOVERING\nsince: %s\nreason: %s\n", user, rec.Since.Format(time.RFC3339), rec.Reason)
	} else {
		fmt.Fprintf(&b, "user: %s\nstate: normal\n", user)
		if !rec.Closed.IsZero() {
			fmt.Fprintf(&b, "last recovery: opened %s (%s), closed %s (%s)\n",
				rec.Since.Format(time.RFC3339), rec.Reason, rec.Closed.Format(time.RFC3339), rec.CloseReason)
		}
	}
	if len(rec.Pending) > 0 {
		fmt.Fprintf(&b, "lost epochs seen: %s\n", strings.Join(rec.Pending, ", "))
	}
	if len(rec.Accepted) > 0 {
		fmt.Fprintf(&b, "accepted epochs: %s\n", strings.Join(rec.Accepted, ", "))
	}
	ids := make([]string, 0, len(st.Devices))
	for id := range st.Devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(&b, "devices: %d\n", len(ids))
	for _, id := range ids {
		d := st.Devices[id]
		recent := "seen in the last " + window.String()
		if d.LastSeen.Before(now.Add(-window)) {
			recent = "not seen recently (does not hold up an automatic close)"
		}
		report := "-"
		if rec.Recovering {
			report = "waiting"
			if d.ReportedFor(rec.Since) {
				report = "reported " + d.Reported.Format(time.RFC3339)
			}
		}
		if !d.CredentialRevoked.IsZero() {
			report = "app password revoked " + d.CredentialRevoked.Format(time.RFC3339) + " (cannot sign in; not waited for)"
		}
		fmt.Fprintf(&b, "  %s\tlast seen %s\t%s\t%s\n", d.Label(id), d.LastSeen.Format(time.RFC3339), recent, report)
	}
	if rec.Recovering {
		if len(rec.Expected) > 0 {
			fmt.Fprintf(&b, "expected devices: %s\n", strings.Join(rec.Expected, " "))
		}
		waiting := storage.DevicesWaiting(st, window, now)
		fmt.Fprintf(&b, "waiting for: %d device(s) %s\n", len(waiting), strings.Join(storage.DeviceLabels(st, waiting), ", "))
		if rec.NoKnownDevices {
			fmt.Fprintf(&b, "no automatic close: this store does not know the devices the account had before the loss; name them with 'pimvault recovery expect --user %s --device ID…' (or --from a backup) or close with 'pimvault recovery close --user %s'\n", user, user)
		}
	}
	return b.String()
}

// divergedStatus lists the directories a rejoin set aside beside dir: each
// holds records a former primary accepted and never replicated.
func divergedStatus(dir string) string {
	var b strings.Builder
	for _, d := range storage.DivergedDirs(dir) {
		fmt.Fprintf(&b, "kept aside (records a former primary never replicated): %s\n  see and re-apply them: pimvault recovery reapply --from %s --dry-run, then without --dry-run\n", d, d)
	}
	return b.String()
}

// recoveryReapply writes the records of a diverged directory (Path) that
// this store never had as new changes, skipping what changed here since.
func recoveryReapply(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	if !filepath.IsAbs(req.Path) {
		return Result{}, fmt.Errorf("recovery-reapply: --from must be an absolute path, got %q: %w", req.Path, storage.ErrInvalidChange)
	}
	rep, err := s.Reapply(ctx, req.Path, req.DryRun)
	if err != nil {
		if rep != nil {
			return Result{Output: rep.String()}, err
		}
		return Result{}, err
	}
	return Result{Output: rep.String()}, nil
}
