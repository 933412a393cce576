package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/device"
)

// The scenario harness: real replicas (device.Replica in t.TempDir()) and
// the device sync engine, against the real pimvault binary.

// testDevice is one device of a scenario.
type testDevice struct {
	name string
	dir  string
	r    *device.Replica
	eng  *device.Engine
}

// newTestDevice initialises a replica for user at url.
func newTestDevice(t *testing.T, name, url, user, password string) *testDevice {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	r, err := device.Init(dir, device.Config{Server: url, User: user, Password: password, DeviceID: name})
	if err != nil {
		t.Fatalf("init %s: %v", name, err)
	}
	d := &testDevice{name: name, dir: dir, r: r}
	d.connect(t, url)
	t.Cleanup(func() { d.r.Close() })
	return d
}

// connect points the engine at url (a restarted server listens elsewhere).
func (d *testDevice) connect(t *testing.T, url string) {
	t.Helper()
	cfg := d.r.Config()
	cfg.Server = url
	tr, err := device.NewHTTPTransport(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.eng = &device.Engine{Replica: d.r, Transport: tr, Log: slog.New(slog.DiscardHandler),
		Backoff: &device.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond, MaxRetryAfter: 100 * time.Millisecond, Attempts: 4}}
}

// sync runs one sync and fails the test on an error or an item error.
func (d *testDevice) sync(t *testing.T) *device.Report {
	t.Helper()
	rep, err := d.eng.Sync(context.Background())
	if err != nil {
		t.Fatalf("%s: sync: %v (report %+v)", d.name, err, rep)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("%s: sync reported errors: %v", d.name, rep.Errors)
	}
	return rep
}

// book returns the collection href named name ("contacts").
func (d *testDevice) coll(t *testing.T, name string) device.Collection {
	t.Helper()
	var c device.Collection
	err := d.r.View(func(tx *device.Txn) (err error) { c, err = tx.FindCollection(name); return err })
	if err != nil {
		t.Fatalf("%s: %v", d.name, err)
	}
	return c
}

func (d *testDevice) add(t *testing.T, coll string, body string) device.Item {
	t.Helper()
	var it device.Item
	err := d.r.Update(func(tx *device.Txn) (err error) {
		c, err := tx.FindCollection(coll)
		if err != nil {
			return err
		}
		it, err = tx.AddLocal(c, []byte(body))
		return err
	})
	if err != nil {
		t.Fatalf("%s: add: %v", d.name, err)
	}
	return it
}

func (d *testDevice) edit(t *testing.T, coll, key, body string) {
	t.Helper()
	err := d.r.Update(func(tx *device.Txn) error {
		c, err := tx.FindCollection(coll)
		if err != nil {
			return err
		}
		_, err = tx.EditLocal(c, key, []byte(body))
		return err
	})
	if err != nil {
		t.Fatalf("%s: edit %s: %v", d.name, key, err)
	}
}

func (d *testDevice) remove(t *testing.T, coll, key string) {
	t.Helper()
	err := d.r.Update(func(tx *device.Txn) error {
		c, err := tx.FindCollection(coll)
		if err != nil {
			return err
		}
		_, err = tx.DeleteLocal(c, key)
		return err
	})
	if err != nil {
		t.Fatalf("%s: delete %s: %v", d.name, key, err)
	}
}

// state is href → body of every item of every collection.
func (d *testDevice) state(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := d.r.View(func(tx *device.Txn) error {
		cs, err := tx.Collections()
		if err != nil {
			return err
		}
		for _, c := range cs {
			items, err := tx.Items(c.Href)
			if err != nil {
				return err
			}
			for _, it := range items {
				out[it.Href] = string(it.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vcardBody is a vCard with CRLF line ends.
func vcardBody(uid, fn, note string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nNOTE:" + note + "\r\nEND:VCARD\r\n"
}

// syncAll syncs every device rounds times, in order.
func syncAll(t *testing.T, rounds int, devs ...*testDevice) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		for _, d := range devs {
			d.sync(t)
		}
	}
}

// requireConverged checks that every device holds the same items, byte for
// byte, with no UID twice in a collection, and returns that state.
func requireConverged(t *testing.T, devs ...*testDevice) map[string]string {
	t.Helper()
	want := devs[0].state(t)
	for _, d := range devs[1:] {
		got := d.state(t)
		if diff := diffStates(want, got); diff != "" {
			t.Fatalf("%s and %s differ:\n%s", devs[0].name, d.name, diff)
		}
	}
	uids := map[string]string{}
	for href, body := range want {
		uid, err := device.ParseUID(device.AddressBook, []byte(body))
		if err != nil {
			uid, err = device.ParseUID(device.Calendar, []byte(body))
		}
		if err != nil {
			t.Fatalf("%s: %v", href, err)
		}
		key := href[:strings.LastIndexByte(href, '/')] + " " + uid
		if other, dup := uids[key]; dup {
			t.Fatalf("duplicate UID %s at %s and %s", uid, other, href)
		}
		uids[key] = href
	}
	return want
}

func diffStates(a, b map[string]string) string {
	var lines []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			lines = append(lines, "only in the first: "+k)
		} else if v != w {
			lines = append(lines, fmt.Sprintf("differs: %s\n  %q\n  %q", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			lines = append(lines, "only in the second: "+k)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// requireRecoveryProtocol skips a scenario that needs the server side of
// the recovery protocol (X-Pimvault-Epoch on answers to a device) when the
// binary does not implement it yet.
// The probe uses the id of a device of the scenario, so that it adds no
// device the server would wait for before it closes a recovery.
func requireRecoveryProtocol(t *testing.T, url, user, password, deviceID string) {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", url+"/dav/principals/"+user+"/", nil)
	req.SetBasicAuth(user, password)
	req.Header.Set("Depth", "0")
	req.Header.Set(device.HeaderDevice, deviceID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(device.HeaderEpoch) == "" {
		t.Skip("the server does not implement the recovery protocol yet (no X-Pimvault-Epoch on a device's request; branch recovery)")
	}
}

// copyDir copies a data directory (the server must be stopped).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil // sockets and the like
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
