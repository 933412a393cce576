package transfer

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rep, err := s.Verify(context.Background())
		if err != nil || !rep.OK() {
			t.Errorf("store does not verify: %v %v", err, rep)
		}
		s.Close()
	})
	if _, err := s.Commit(context.Background(), storage.Change{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	return s
}

const twoCards = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\n\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:B\r\nEND:VCARD\r\n"

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"no uid", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:B\r\nEND:VCARD\r\n", "x.vcf:6: vCard has no UID"},
		{"unterminated", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\n", "x.vcf:3: file ends inside a VCARD"},
		{"garbage between", twoCards[:52] + "hello\r\n" + twoCards[52:], "x.vcf:7: text outside"},
		{"duplicate uid", strings.ReplaceAll(twoCards, "UID:b", "UID:a"), "x.vcf:7: UID \"a\" appears twice (also at line 1)"},
		{"not a vcard", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "x.vcf:1: expected BEGIN:VCARD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseVCards("x.vcf", []byte(tc.data))
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	_, err := ParseCalendar("c.ics", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	if err == nil || !strings.Contains(err.Error(), "c.ics:6: VEVENT has no UID") {
		t.Fatalf("calendar without uid: %v", err)
	}
}

func TestParseSplitsAndKeepsBytes(t *testing.T) {
	items, err := ParseVCards("x.vcf", []byte(twoCards))
	if err != nil || len(items) != 2 || string(items[1].Body) != twoCards[52:] || items[0].Name != "a.vcf" {
		t.Fatalf("split cards: %v %+v", err, items)
	}
	cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=X:20260101T100000\r\nSUMMARY:one\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:two\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	items, err = ParseCalendar("c.ics", []byte(cal))
	if err != nil || len(items) != 2 || items[1].Component != "VTODO" {
		t.Fatalf("split calendar: %v %+v", err, items)
	}
	for _, it := range items {
		if !bytes.Contains(it.Body, []byte("TZID:X")) || bytes.Count(it.Body, []byte("UID:")) != 1 {
			t.Fatalf("%s: split object lacks its timezone or holds other UIDs:\n%s", it.UID, it.Body)
		}
		if again, err := ParseCalendar("again.ics", it.Body); err != nil || len(again) != 1 || !bytes.Equal(again[0].Body, it.Body) {
			t.Fatalf("re-parse of %s: %v", it.UID, err)
		}
	}
	// Spans as a CalDAV PUT stores them: the event at 10:00 in the file's
	// own +01:00 zone (09:00 UTC, no end: an instant), the dateless todo
	// over all time.
	if sp := items[0].Span; sp == nil || sp.Start != 1767258000 || sp.End < sp.Start || sp.End > sp.Start+1 {
		t.Errorf("event e1: span %+v, want [1767258000, +1s] (2026-01-01T09:00:00Z)", sp)
	}
	if sp := items[1].Span; sp == nil || sp.Start != math.MinInt64 || sp.End != math.MaxInt64 {
		t.Errorf("todo t1 without dates: span %+v, want all time", sp)
	}
	// An export with METHOD:PUBLISH (Outlook's) imports as a CalDAV PUT
	// stores it: the METHOD, which RFC 4791 §4.1 forbids in a calendar
	// object resource, is removed from every object.
	pub, err := ParseCalendar("m.ics", []byte(strings.Replace(cal, "PRODID:-//x//EN\r\n", "PRODID:-//x//EN\r\nMETHOD:PUBLISH\r\n", 1)))
	if err != nil || len(pub) != 2 {
		t.Fatalf("a calendar with METHOD:PUBLISH: %v, %d objects", err, len(pub))
	}
	for _, it := range pub {
		if bytes.Contains(it.Body, []byte("METHOD")) {
			t.Errorf("%s: imported with its METHOD:\n%s", it.UID, it.Body)
		}
	}
}

// TestExportImportRoundTripAndMerge: an export re-imports byte for byte
// into another account; a second import merges by UID without duplicates;
// a folder with one bad file imports nothing.
func TestExportImportRoundTripAndMerge(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	dir := t.TempDir()
	vcf := filepath.Join(dir, "people.vcf")
	os.WriteFile(vcf, []byte(twoCards), 0o600)
	src, errs := Load(vcf, "")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rep, err := Import(ctx, s, "alice", src, false)
	if err != nil || rep.Added != 2 || len(rep.Created) != 1 {
		t.Fatalf("import vcf: %v %s", err, rep)
	}
	// Same UID, changed content → updated in place; unchanged one stays.
	os.WriteFile(vcf, []byte(strings.Replace(twoCards, "FN:B", "FN:Bee", 1)), 0o600)
	src, _ = Load(vcf, "")
	rep, err = Import(ctx, s, "alice", src, false)
	if err != nil || rep.Added != 0 || rep.Updated != 1 || rep.Unchanged != 1 {
		t.Fatalf("merge: %v %s", err, rep)
	}
	if c, _ := s.Collection("alice", "contacts"); c.Count != 2 {
		t.Fatalf("after merge %d objects, want 2", c.Count)
	}
	zipPath := filepath.Join(dir, "export.zip")
	f, _ := os.Create(zipPath)
	if _, err := Export(s, "alice", f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.Commit(ctx, storage.Change{Op: storage.OpPutPrincipal, Principal: "bob", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	src, errs = Load(zipPath, "")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if rep, err := Import(ctx, s, "bob", src, false); err != nil || rep.Added != 2 {
		t.Fatalf("import export: %v %s", err, rep)
	}
	s.Objects("alice", "contacts", true, func(o storage.Object) error {
		b, err := s.Get("bob", "contacts", o.Name)
		if err != nil || !bytes.Equal(b.Body, o.Body) {
			t.Fatalf("bob's %s differs from alice's: %v", o.Name, err)
		}
		return nil
	})
	// A Radicale-like folder with one bad file: errors name it, nothing is imported.
	col := filepath.Join(dir, "rad", "book")
	os.MkdirAll(col, 0o700)
	os.WriteFile(filepath.Join(col, ".Radicale.props"), []byte(`{"tag":"VADDRESSBOOK","D:displayname":"B"}`), 0o600)
	os.WriteFile(filepath.Join(col, "good.vcf"), []byte(twoCards[:50]), 0o600)
	os.WriteFile(filepath.Join(col, "bad.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n"), 0o600)
	_, errs = Load(filepath.Join(dir, "rad"), "")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "bad.vcf:1: vCard has no UID") {
		t.Fatalf("bad folder: %v", errs)
	}
}
