package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/server"
	"github.com/pimvault/pimvault/storage"
)

// servedCommands are the admin commands a running server adds to the
// socket: they need the server itself (its scheduling configuration).
func servedCommands(dav *atomic.Pointer[server.Server]) map[string]admin.Command {
	return map[string]admin.Command{
		"imip-receive": func(ctx context.Context, _ *storage.Store, req admin.Request) (admin.Result, error) {
			srv := dav.Load()
			if srv == nil {
				return admin.Result{}, errors.New("the server is still starting; try again")
			}
			out, err := srv.ReceiveIMIP(ctx, req.Message)
			return admin.Result{Output: out}, err
		},
		"imip-queue": imipQueueCommand,
	}
}

// runIMIP: pimvault imip receive < message (an MTA's pipe). With the server
// running the mail goes through its admin socket; without, the store is
// opened here with the default scheduling configuration (addresses from
// the accounts' e-mail addresses only).
func runIMIP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usageText = "usage: pimvault imip receive [--data DIR] < MESSAGE\n" + imipQueueUsage
	if len(args) > 0 && wantsHelp(args[:1]) {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	if len(args) > 0 && args[0] == "queue" {
		return runIMIPQueue(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "receive" {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	fs := newFlagSet("imip receive", stderr)
	var sf storeFlags
	sf.register(fs)
	if code, ok := parseArgs(fs, args[1:], stdout); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	msg, err := io.ReadAll(io.LimitReader(stdin, server.MaxIMIPMessage+1))
	if err != nil {
		fmt.Fprintf(stderr, "pimvault imip receive: %v\n", err)
		return 1
	}
	if len(msg) > server.MaxIMIPMessage {
		fmt.Fprintf(stderr, "pimvault imip receive: message over %d bytes\n", server.MaxIMIPMessage)
		return 1
	}
	offline := func() (admin.Result, error) {
		s, err := storage.OpenExisting(sf.data, sf.options())
		if err != nil {
			return admin.Result{}, err
		}
		defer s.Close()
		out, err := server.New(s, server.Config{}, discardLogger()).ReceiveIMIP(ctx, msg)
		return admin.Result{Output: out}, err
	}
	return adminRun(ctx, sf, "imip-receive", admin.Request{Message: msg}, offline, stdout, stderr)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
