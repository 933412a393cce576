package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/storage"
)

const imipQueueUsage = "       pimvault imip queue [--user NAME] [--data DIR]\n"

// runIMIPQueue: pimvault imip queue lists the iMIP mail waiting in the
// outbox (through the running server's admin socket, or the store).
func runIMIPQueue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usageText = "usage: pimvault imip queue [--user NAME] [--data DIR]\n"
	fs := newFlagSet("imip queue", stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "only this account's mail")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	req := admin.Request{User: *user}
	offline := func() (admin.Result, error) {
		s, err := storage.OpenExisting(sf.data, sf.options())
		if err != nil {
			return admin.Result{}, err
		}
		defer s.Close()
		return imipQueueCommand(ctx, s, req)
	}
	return adminRun(ctx, sf, "imip-queue", req, offline, stdout, stderr)
}

// imipQueueCommand is the admin command behind 'pimvault imip queue'.
func imipQueueCommand(_ context.Context, s *storage.Store, req admin.Request) (admin.Result, error) {
	es, err := s.Outbox(req.User)
	if err != nil {
		return admin.Result{}, err
	}
	return admin.Result{Output: formatQueue(es, time.Now())}, nil
}

// formatQueue is the queue as a table, oldest first.
func formatQueue(es []storage.OutboxEntry, now time.Time) string {
	var b strings.Builder
	if len(es) == 0 {
		return "no iMIP mail is queued\n"
	}
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tID\tMETHOD\tTO\tQUEUED\tATTEMPTS\tNEXT\tMESSAGE-ID\tLAST ERROR")
	for _, e := range es {
		next := "now"
		if e.Next.After(now) {
			next = e.Next.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Principal, e.ID, e.Method, e.To,
			e.Created.UTC().Format(time.RFC3339), e.Attempts, next, e.MessageID, oneLine(e.LastError))
	}
	w.Flush()
	fmt.Fprintf(&b, "%d message(s) queued\n", len(es))
	return b.String()
}

// oneLine keeps a relay's error on one table row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
