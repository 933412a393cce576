package device

import (
	"context"
	"testing"
)

// The fleet against the in-memory fake: seeded rounds with offline
// periods, then everyone syncs and the devices and the server agree.
func TestFleetConvergesOnFake(t *testing.T) {
	const cal = "/dav/calendars/u/calendar/"
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook}, Collection{Href: cal, Kind: Calendar})
	f, err := NewFleet(FleetConfig{Dir: t.TempDir(), Server: "http://127.0.0.1:1", User: "u", Password: "p", Devices: 4, Seed: 7,
		NewTransport: func(Config) (Transport, error) { return srv, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	var total FleetStats
	for i := 0; i < 8; i++ {
		st, err := f.Round(ctx)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		total.Adds += st.Adds
		total.Edits += st.Edits
		total.Deletes += st.Deletes
		total.Offline += st.Offline
	}
	if total.Adds == 0 || total.Edits == 0 || total.Deletes == 0 || total.Offline == 0 {
		t.Fatalf("the fleet did not exercise every kind of change: %+v", total)
	}
	if err := f.SyncAll(ctx, 3); err != nil {
		t.Fatal(err)
	}
	state, err := f.Converged()
	if err != nil {
		t.Fatal(err)
	}
	server := srv.bodies(book)
	events := srv.bodies(cal)
	if len(events) == 0 {
		t.Fatalf("the fleet made no calendar events")
	}
	for h, b := range events {
		server[h] = b
	}
	if len(server) != len(state) || len(state) == 0 {
		t.Fatalf("server holds %d items, devices %d", len(server), len(state))
	}
	for h, b := range state {
		if server[h] != b {
			t.Fatalf("server and devices differ at %s", h)
		}
	}
}
