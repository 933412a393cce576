package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The vCards of card/testdata/clients (as iOS, macOS, DAVx5, Thunderbird,
// CardBook, Evolution, Outlook sync tools and old phones write them) saved
// against the real binary through two real clients: vdirsyncer uploads them
// from a folder, and the device library (pimvault device add + sync) PUTs
// them as another user. Every one is stored: 3.0 and 4.0 byte for byte, 2.1
// rewritten as 3.0 with its name decoded.
func TestCardDAVClientSamples(t *testing.T) {
	skipIfShort(t, "the real-client test (vCard samples through vdirsyncer and the device library)")
	requireTools(t, "vdirsyncer")
	samples, err := filepath.Glob("../../card/testdata/clients/*.vcf")
	if err != nil || len(samples) < 9 {
		t.Fatalf("client samples: %v %v", samples, err)
	}
	r := newVdirRig(t)
	r.writeVdirsyncerConfig("null")
	r.vdirsyncer("discover", true, "discover")
	r.sync("first sync of two empty sides")
	type sample struct {
		name, body, fn string
		v21            bool
	}
	var want []sample
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		it := sample{name: filepath.Base(s), body: string(b), v21: strings.Contains(string(b), "VERSION:2.1")}
		if !it.v21 {
			it.fn = parseItem(t, "sample", it.name, it.body).fn
		}
		want = append(want, it)
		r.writeLocal(filepath.Join(r.vdir, it.name), it.body)
	}
	// (A 2.1 card's FN is quoted-printable: its decoded value is checked
	// below against the README's list of names.)
	names21 := map[string]string{"outlook_export_v21.vcf": "Jane Smith", "android_export_v21.vcf": "Björn Åberg"}

	// check finds every sample among items (by UID as stored).
	check := func(step string, items map[string]vcardItem) {
		t.Helper()
		byFN := map[string]vcardItem{}
		for _, it := range items {
			byFN[it.fn] = it
		}
		if len(items) != len(want) {
			t.Errorf("%s: %d items on the server, want %d", step, len(items), len(want))
		}
		for _, s := range want {
			if s.v21 {
				it, ok := byFN[names21[s.name]]
				if !ok || !strings.Contains(it.body, "VERSION:3.0") {
					t.Errorf("%s: %s (vCard 2.1, FN %q) not stored as 3.0: %+v", step, s.name, names21[s.name], it)
				}
				continue
			}
			it, ok := byFN[s.fn]
			if !ok {
				t.Errorf("%s: %s (FN %q) not on the server", step, s.name, s.fn)
			} else if it.body != s.body {
				t.Errorf("%s: %s not stored byte for byte:\n got  %q\n want %q", step, s.name, it.body, s.body)
			}
		}
	}
	r.sync("upload the samples")
	check("vdirsyncer", r.serverItems("vdirsyncer"))
	// vdirsyncer names a card without UID by a hash of its bytes. The two
	// 2.1 exports have none; stored, they are 3.0 cards with a UID, so the
	// next sync takes the server's version in place of each local file.
	// Then the two sides are the same and a sync copies nothing.
	if c := copies(r.sync("a second sync")); len(c) != 4 {
		t.Errorf("a second sync copied %d times, want 2 downloads and 2 local deletions (the 2.1 files):\n%s", len(c), strings.Join(c, "\n"))
	}
	if c := copies(r.sync("a third sync")); len(c) != 0 {
		t.Errorf("a third sync still copied:\n%s", strings.Join(c, "\n"))
	}
	local := r.localItems("after the syncs")
	for _, s := range want {
		if !s.v21 {
			continue
		}
		found := false
		for _, it := range local {
			found = found || (it.fn == names21[s.name] && strings.Contains(it.body, "VERSION:3.0"))
		}
		if !found || len(local) != len(want) {
			t.Errorf("local folder after the syncs: %d items, %s as 3.0: %v", len(local), s.name, found)
		}
	}

	// The device library, as another user.
	const pw = "bob's account password"
	if res := pimvaultStdin(t, pw+"\n", "user", "add", "bob", "--password-stdin", "--data", r.data); res.code != 0 {
		t.Fatalf("user add: %s", res)
	}
	dir := filepath.Join(t.TempDir(), "replica")
	dev := func(stdin string, args ...string) cliResult {
		t.Helper()
		res := pimvaultStdin(t, stdin, append([]string{"device"}, args...)...)
		if res.code != 0 {
			t.Fatalf("device %s: %s", args[0], res)
		}
		return res
	}
	dev(pw+"\n", "init", "--server", r.rs.url, "--user", "bob", "--password-stdin", "--dir", dir)
	dev("", "sync", "--dir", dir)
	// The device library takes a vCard with a UID only (a replica keys its
	// items by UID); the UID-less 2.1 exports go in through the others.
	n := 0
	for _, s := range samples {
		if strings.Contains(filepath.Base(s), "_v21") {
			continue
		}
		dev("", "add", "--dir", dir, "--collection", "contacts", "--file", s)
		n++
	}
	if res := dev("", "sync", "--dir", dir); !strings.Contains(res.stdout, fmt.Sprintf("uploaded %d", n)) {
		t.Errorf("device sync: %s", res)
	}
	bob := &vdirRig{t: t, rs: r.rs, user: "bob", password: pw, book: "/dav/addressbooks/bob/contacts/", hc: r.hc}
	var with3 []sample
	for _, s := range want {
		if !s.v21 {
			with3 = append(with3, s)
		}
	}
	want = with3
	check("device library", bob.serverItems("device library"))
	expectVerifyOK(t, r.data)
}
