package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/internal/storm"
	"github.com/pimvault/pimvault/storage"
)

// A reconnect storm after a restart of the real binary: every client of
// every account at once, each doing PROPFIND Depth 1, sync-collection with
// the token it held and a multiget of the changes. It asserts on protocol,
// not speed: every answer is 2xx, or 503/429 with Retry-After; no request
// waits more than 30 s for an answer; every client finishes.
func TestReconnectStorm(t *testing.T) {
	accounts, clients := 50, 1000
	if testing.Short() {
		accounts, clients = 10, 150 // the quick loop; make test runs 1,000 clients
	}
	dir := t.TempDir()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var accts []storm.Account
	for i := 0; i < accounts; i++ {
		a := storm.Account{Name: fmt.Sprintf("phone%03d", i), Password: fmt.Sprintf("storm-password-%03d", i)}
		// The real cost: every sign-in after the restart runs bcrypt (a
		// quarter of it under the race detector, which slows bcrypt
		// tenfold).
		old := account.HashCost
		account.HashCost = bcrypt.DefaultCost
		if raceEnabled() {
			account.HashCost = bcrypt.DefaultCost - 2
		}
		err := account.AddUser(context.Background(), st, a.Name, a.Password)
		account.HashCost = old
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rs := startServer(t, dir, "--access-log=false")
	ctx := context.Background()
	accts, err = storm.Setup(ctx, storm.SetupConfig{URL: rs.url, Accounts: accts, Before: 40, After: 10, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	rs.stop(t)

	rs = startServer(t, dir, "--access-log=false")
	rep, err := storm.Run(ctx, storm.Config{URL: rs.url, Accounts: accts, Clients: clients,
		Deadline: 10 * time.Minute, RequestTimeout: 30 * time.Second, PID: rs.cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.WriteText(&out)
	t.Log("\n" + out.String())
	if rep.ViolationCount > 0 || rep.Finished != clients {
		t.Fatalf("the storm broke the protocol or left clients unfinished:\n%s", out.String())
	}
	if rep.MaxWait > 30*time.Second {
		t.Fatalf("a request waited %v for an answer", rep.MaxWait)
	}
	for code := range rep.Statuses {
		if !(code >= 200 && code < 300) && code != 503 && code != 429 {
			t.Fatalf("status %d in the storm", code)
		}
	}
	rs.stop(t)
}
