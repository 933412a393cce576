package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
)

// FleetConfig describes a simulated fleet of devices of one user.
type FleetConfig struct {
	Dir      string // replicas go in Dir/<device name>
	Server   string
	User     string
	Password string
	Devices  int    // default 3
	Seed     uint64 // the same seed gives the same edits and offline periods
	// EditsPerRound is how many local changes a device makes per round
	// (default 3); OfflineChance is the chance that a device is offline
	// for a round (default 0.3): it edits but does not sync.
	EditsPerRound int
	OfflineChance float64
	// NewTransport builds a device's transport; default HTTPTransport.
	NewTransport func(Config) (Transport, error)
	Log          *slog.Logger
	Backoff      func() *Backoff // per device; default &Backoff{}
}

// Fleet is N in-process devices making random changes and syncing.
type Fleet struct {
	Devices []*FleetDevice
	cfg     FleetConfig
	rng     *rand.Rand
	serial  int
}

// FleetDevice is one simulated device.
type FleetDevice struct {
	Name    string
	Replica *Replica
	Engine  *Engine
	Offline bool
}

// FleetStats counts what a round did.
type FleetStats struct {
	Adds, Edits, Deletes, Syncs, Offline, Conflicts int
}

// NewFleet creates the devices' replicas.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Devices <= 0 {
		cfg.Devices = 3
	}
	if cfg.EditsPerRound <= 0 {
		cfg.EditsPerRound = 3
	}
	if cfg.OfflineChance <= 0 {
		cfg.OfflineChance = 0.3
	}
	if cfg.NewTransport == nil {
		cfg.NewTransport = func(c Config) (Transport, error) { return NewHTTPTransport(c, nil) }
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	f := &Fleet{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	for i := 0; i < cfg.Devices; i++ {
		name := fmt.Sprintf("fleet-%d", i)
		r, err := Init(filepath.Join(cfg.Dir, name), Config{Server: cfg.Server, User: cfg.User, Password: cfg.Password, DeviceID: name})
		if err != nil {
			f.Close()
			return nil, err
		}
		t, err := cfg.NewTransport(r.Config())
		if err != nil {
			r.Close()
			f.Close()
			return nil, err
		}
		e := &Engine{Replica: r, Transport: t, Log: cfg.Log.With("device", name)}
		if cfg.Backoff != nil {
			e.Backoff = cfg.Backoff()
		}
		f.Devices = append(f.Devices, &FleetDevice{Name: name, Replica: r, Engine: e})
	}
	return f, nil
}

// Reconnect points every device at another server URL (a server that
// was replaced or restarted elsewhere); the replicas keep their state.
func (f *Fleet) Reconnect(server string) error {
	for _, d := range f.Devices {
		cfg := d.Replica.Config()
		cfg.Server = server
		t, err := f.cfg.NewTransport(cfg)
		if err != nil {
			return err
		}
		d.Engine.Transport = t
	}
	return nil
}

// Close closes every replica.
func (f *Fleet) Close() error {
	var errs []error
	for _, d := range f.Devices {
		errs = append(errs, d.Replica.Close())
	}
	return errors.Join(errs...)
}

// Round lets every device decide whether it is offline, make its random
// changes, and sync if it is online.
func (f *Fleet) Round(ctx context.Context) (FleetStats, error) {
	var st FleetStats
	for _, d := range f.Devices {
		d.Offline = f.rng.Float64() < f.cfg.OfflineChance
		if err := f.edit(d, &st); err != nil {
			return st, fmt.Errorf("%s: %w", d.Name, err)
		}
		if d.Offline {
			st.Offline++
			continue
		}
		rep, err := d.Engine.Sync(ctx)
		if err != nil {
			return st, fmt.Errorf("%s: sync: %w", d.Name, err)
		}
		if len(rep.Errors) > 0 {
			return st, fmt.Errorf("%s: sync: %s", d.Name, strings.Join(rep.Errors, "; "))
		}
		st.Syncs++
		st.Conflicts += len(rep.Conflicts)
	}
	return st, nil
}

// SyncAll brings every device online and syncs them all, rounds times.
func (f *Fleet) SyncAll(ctx context.Context, rounds int) error {
	for i := 0; i < rounds; i++ {
		for _, d := range f.Devices {
			d.Offline = false
			rep, err := d.Engine.Sync(ctx)
			if err != nil {
				return fmt.Errorf("%s: sync: %w", d.Name, err)
			}
			if len(rep.Errors) > 0 {
				return fmt.Errorf("%s: sync: %s", d.Name, strings.Join(rep.Errors, "; "))
			}
		}
	}
	return nil
}

// State returns href → body of every item a device holds.
func (d *FleetDevice) State() (map[string]string, error) {
	out := map[string]string{}
	err := d.Replica.View(func(t *Txn) error {
		cs, err := t.Collections()
		if err != nil {
			return err
		}
		for _, c := range cs {
			items, err := t.Items(c.Href)
			if err != nil {
				return err
			}
			for _, it := range items {
				out[it.Href] = string(it.Body)
			}
		}
		return nil
	})
	return out, err
}

// Converged returns nil when every device holds the same items byte for
// byte, and the first difference otherwise.
func (f *Fleet) Converged() (map[string]string, error) {
	want, err := f.Devices[0].State()
	if err != nil {
		return nil, err
	}
	for _, d := range f.Devices[1:] {
		got, err := d.State()
		if err != nil {
			return nil, err
		}
		for _, h := range sortedKeys(want) {
			if g, ok := got[h]; !ok || g != want[h] {
				return nil, fmt.Errorf("%s and %s differ at %s", f.Devices[0].Name, d.Name, h)
			}
		}
		if len(got) != len(want) {
			return nil, fmt.Errorf("%s holds %d items, %s %d", f.Devices[0].Name, len(want), d.Name, len(got))
		}
	}
	return want, nil
}

// edit makes the device's random changes in its first collection of each
// kind (address books get vCards, calendars events).
func (f *Fleet) edit(d *FleetDevice, st *FleetStats) error {
	return d.Replica.Update(func(t *Txn) error {
		cs, err := t.Collections()
		if err != nil || len(cs) == 0 {
			return err // not synced yet: nothing to edit in
		}
		for i := 0; i < f.cfg.EditsPerRound; i++ {
			c := cs[f.rng.IntN(len(cs))]
			items, err := t.Items(c.Href)
			if err != nil {
				return err
			}
			sort.Slice(items, func(a, b int) bool { return items[a].Href < items[b].Href })
			switch op := f.rng.IntN(10); {
			case op < 5 || len(items) == 0:
				f.serial++
				uid := fmt.Sprintf("%s-%d-%d", d.Name, f.cfg.Seed, f.serial)
				if _, err := t.AddLocal(c, FleetBody(c.Kind, uid, "created")); err != nil {
					return err
				}
				st.Adds++
			case op < 8:
				it := items[f.rng.IntN(len(items))]
				f.serial++
				if _, err := t.EditLocal(c, it.Href, FleetBody(c.Kind, it.UID, fmt.Sprintf("edit %d by %s", f.serial, d.Name))); err != nil {
					return err
				}
				st.Edits++
			default:
				it := items[f.rng.IntN(len(items))]
				if _, err := t.DeleteLocal(c, it.Href); err != nil {
					return err
				}
				st.Deletes++
			}
		}
		return nil
	})
}

// FleetBody is a small vCard or VEVENT with the UID and a note.
func FleetBody(kind Kind, uid, note string) []byte {
	if kind == Calendar {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//fleet//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
			"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\nSUMMARY:" + uid +
			"\r\nDESCRIPTION:" + note + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nNOTE:" + note + "\r\nEND:VCARD\r\n")
}
