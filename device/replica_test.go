package device

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReplicaInitOpenAndLocalChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "phone")
	r, err := Init(dir, Config{Server: "http://127.0.0.1:8080", User: "ann", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Config().DeviceID
	if !validDeviceID(id) {
		t.Fatalf("generated device id %q is not valid", id)
	}
	for _, f := range []string{passwordFile, replicaFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", f, fi.Mode().Perm(), err)
		}
	}
	coll := Collection{Href: book, Kind: AddressBook, Name: "Contacts"}
	err = r.Update(func(tx *Txn) error {
		if err := tx.PutCollection(coll); err != nil {
			return err
		}
		if _, err := tx.AddLocal(coll, vcard("x-1", "a")); err != nil {
			return err
		}
		if _, err := tx.AddLocal(coll, vcard("x-1", "b")); !errors.Is(err, ErrItemExists) {
			t.Errorf("second add of UID x-1: %v, want ErrItemExists", err)
		}
		if _, err := tx.AddLocal(coll, []byte("not a card")); !errors.Is(err, ErrBadBody) {
			t.Errorf("add of a bad body: %v, want ErrBadBody", err)
		}
		if _, err := tx.EditLocal(coll, "x-1", vcard("x-2", "a")); err == nil {
			t.Errorf("edit that changes the UID succeeded")
		}
		// A synced item's deletion is kept until the server confirms it.
		it, err := tx.AddLocal(coll, vcard("x-3", "a"))
		if err != nil {
			return err
		}
		it.synced(it.ETag, "aa", 5)
		if err := tx.PutItem(coll.Href, it); err != nil {
			return err
		}
		if _, err := tx.EditLocal(coll, book+"x-3.vcf", vcard("x-3", "b")); err != nil {
			return err
		}
		if _, err := tx.DeleteLocal(coll, "x-3"); err != nil {
			return err
		}
		_, err = tx.DeleteLocal(coll, "nope")
		if !errors.Is(err, ErrNoItem) {
			t.Errorf("delete of a missing item: %v, want ErrNoItem", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, Config{Server: "http://x", User: "u", Password: "p"}); !errors.Is(err, ErrExists) {
		t.Errorf("init over an existing replica: %v, want ErrExists", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("open of an empty dir: %v, want ErrNotInitialized", err)
	}
	r, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if cfg := r.Config(); cfg.DeviceID != id || cfg.Password != "s3cret" || cfg.User != "ann" {
		t.Errorf("reopened config %+v", cfg)
	}
	err = r.View(func(tx *Txn) error {
		c, err := tx.FindCollection("contacts")
		if err != nil || c.Href != book {
			t.Errorf("find by name: %+v %v", c, err)
		}
		n, err := tx.Count(book)
		want := Counts{Items: 1, Dirty: 1, NeverSynced: 1, PendingDeletions: 1}
		if n != want {
			t.Errorf("counts %+v, want %+v", n, want)
		}
		ds, _ := tx.Deletions(book)
		if len(ds) != 1 || ds[0].SyncedETag != ETagOf(vcard("x-3", "a")) {
			t.Errorf("pending deletion %+v, want x-3 with its last synced ETag", ds)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestItemSyncedKeepsHistory(t *testing.T) {
	var it Item
	for i := 0; i < 12; i++ {
		it.synced(string(rune('a'+i)), "e", uint64(i))
	}
	if it.SyncedETag != "l" || len(it.Seen) != maxSeen || it.Seen[len(it.Seen)-1] != "k" {
		t.Fatalf("synced %q seen %v", it.SyncedETag, it.Seen)
	}
}
