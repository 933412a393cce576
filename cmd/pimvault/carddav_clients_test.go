package main

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// Real third-party CardDAV clients against the real binary: vdirsyncer
// syncs the default address book two ways with a local folder (creates,
// edits, deletes and conflicts on both sides), and khard reads that folder.
// Debian packages vdirsyncer and khard; .ci/run installs them.

// khardRows returns the rows of khard's --parsable output (email and phone
// print a "searching for 'ALL' ..." line first).
func khardRows(stdout string) []string {
	var rows []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, "\t") {
			rows = append(rows, l)
		}
	}
	return rows
}

func TestVdirsyncerAndKhard(t *testing.T) {
	skipIfShort(t, "the real-client test (vdirsyncer and khard against the binary)")
	requireTools(t, "vdirsyncer", "khard")
	t.Parallel()
	r := newVdirRig(t)
	r.writeVdirsyncerConfig("null")

	// Discovery from the server's root URL: current-user-principal,
	// addressbook-home-set, then the address books in the home.
	res := r.vdirsyncer("discover", true, "discover")
	if out := res.stdout + res.stderr; !strings.Contains(out, `collections = ["contacts"]`) {
		t.Fatalf("discover: output has no `collections = [\"contacts\"]` (the default address book):\n%s", out)
	}
	r.sync("first sync of two empty sides")
	r.converged("first sync of two empty sides", map[string]string{})

	// (a) Create on both sides. erin's href has an escaped space; frank's
	// UID has an "@", so vdirsyncer uploads it under a generated name.
	r.serverPut("alice.vcf", card("4.0", "alice", "Alice Arnold"), "*")
	r.serverPut("bob.vcf", card("3.0", "bob", "Bob Builder", "TEL;TYPE=cell:+49 30 1111"), "*")
	r.serverPut("erin%20smith.vcf", card("4.0", "erin-uid", "Erin Smith"), "*")
	r.writeLocal(filepath.Join(r.vdir, "carol.vcf"), card("3.0", "carol", "Carol Cole"))
	r.writeLocal(filepath.Join(r.vdir, "dave.vcf"), card("4.0", "dave", "Dave Dörfler"))
	r.writeLocal(filepath.Join(r.vdir, "frank.vcf"), card("3.0", "frank@example.org", "Frank Fischer", "EMAIL;TYPE=work:frank@example.org"))
	r.sync("(a) create")
	want := map[string]string{
		"alice": "Alice Arnold", "bob": "Bob Builder", "erin-uid": "Erin Smith",
		"carol": "Carol Cole", "dave": "Dave Dörfler", "frank@example.org": "Frank Fischer",
	}
	server, _ := r.converged("(a) create", want)

	// (b) Edit on each side an item the other side created.
	carol := server["carol"]
	r.serverPut(path.Base(carol.name), card("3.0", "carol", "Carol Cole-Server"), carol.etag)
	r.writeLocal(r.localFile("(b) edit", "bob"), card("3.0", "bob", "Bob Builder-Local", "TEL;TYPE=cell:+49 30 1111"))
	r.sync("(b) edit")
	want["carol"], want["bob"] = "Carol Cole-Server", "Bob Builder-Local"
	server, _ = r.converged("(b) edit", want)

	// (c) Delete on each side an item the other side created.
	r.serverDelete(server["dave"].name, server["dave"].etag)
	if err := os.Remove(r.localFile("(c) delete", "alice")); err != nil {
		t.Fatal(err)
	}
	r.sync("(c) delete")
	delete(want, "dave")
	delete(want, "alice")
	server0, local0 := r.converged("(c) delete", want)

	// (d) A conflict: erin edited on both sides between two syncs. Without a
	// conflict_resolution vdirsyncer must notice (ETags changed on both
	// sides) and change nothing.
	erin := server0["erin-uid"]
	r.serverPut(path.Base(erin.name), card("4.0", "erin-uid", "Erin Smith (server)"), erin.etag)
	r.writeLocal(r.localFile("(d) conflict", "erin-uid"), card("4.0", "erin-uid", "Erin Smith (local)"))
	step := "(d) conflict, no resolution"
	res = r.vdirsyncer(step, false, "sync")
	if out := res.stdout + res.stderr; res.code == 0 || !strings.Contains(out, "changed on both sides") {
		t.Fatalf("%s: vdirsyncer exited %d without reporting the conflict, want a non-zero exit and \"One item changed on both sides\":\n%s\n--- server log:\n%s",
			step, res.code, out, r.rs.stderr.String())
	}
	server1, local1 := r.serverItems(step), r.localItems(step)
	if got := server1["erin-uid"].fn; got != "Erin Smith (server)" {
		t.Errorf("%s: server FN of erin %q, want %q (untouched)", step, got, "Erin Smith (server)")
	}
	if got := local1["erin-uid"].fn; got != "Erin Smith (local)" {
		t.Errorf("%s: local FN of erin %q, want %q (untouched)", step, got, "Erin Smith (local)")
	}
	r.unchangedExcept(step, "erin-uid", server0, local0, server1, local1)

	// Resolved with "b wins": the server's version goes to the folder.
	step = `(d) conflict, "b wins"`
	r.writeVdirsyncerConfig(`"b wins"`)
	r.resolved(step, r.sync(step), "erin-uid")
	want["erin-uid"] = "Erin Smith (server)"
	server2, local2 := r.converged(step, want)
	r.unchangedExcept(step, "erin-uid", server1, local1, server2, local2)
	if server2["erin-uid"] != server1["erin-uid"] {
		t.Errorf("%s: the winning server copy changed:\n before %+v\n after  %+v", step, server1["erin-uid"], server2["erin-uid"])
	}

	// A second conflict resolved with "a wins": the folder's version is
	// uploaded over the server's (a PUT with If-Match on the new ETag).
	step = `(d) conflict, "a wins"`
	r.writeVdirsyncerConfig(`"a wins"`)
	frank := server2["frank@example.org"]
	r.serverPut(path.Base(frank.name), card("3.0", "frank@example.org", "Frank Fischer (server)", "EMAIL;TYPE=work:frank@example.org"), frank.etag)
	server3 := r.serverItems(step)
	r.writeLocal(r.localFile(step, "frank@example.org"), card("3.0", "frank@example.org", "Frank Fischer (local)", "EMAIL;TYPE=work:frank@example.org"))
	local3 := r.localItems(step)
	r.resolved(step, r.sync(step), "frank@example.org")
	want["frank@example.org"] = "Frank Fischer (local)"
	server4, local4 := r.converged(step, want)
	r.unchangedExcept(step, "frank@example.org", server3, local3, server4, local4)
	if local4["frank@example.org"] != local3["frank@example.org"] {
		t.Errorf("%s: the winning local copy changed:\n before %+v\n after  %+v", step, local3["frank@example.org"], local4["frank@example.org"])
	}
	if got, was := server4["frank@example.org"].name, frank.name; got != was {
		t.Errorf("%s: frank's server href %q, want %q (updated in place)", step, got, was)
	}

	// Converged: one more sync changes nothing on either side.
	step = "final sync"
	res = r.sync(step)
	if c := copies(res); len(c) != 0 {
		t.Errorf("%s: vdirsyncer still changed things after convergence:\n%s", step, strings.Join(c, "\n"))
	}
	server5, local5 := r.converged(step, want)
	r.unchangedExcept(step, "", server4, local4, server5, local5)

	// (e) khard reads the folder: exactly the synced contacts, by FN.
	step = "(e) khard list"
	kres := r.run("khard", "-c", r.khardConfig(), "list", "--parsable", "--display", "formatted_name")
	if kres.code != 0 {
		t.Fatalf("%s: khard exited %d, want 0:\n%s%s", step, kres.code, kres.stdout, kres.stderr)
	}
	got := map[string]string{}
	for _, l := range khardRows(kres.stdout) {
		f := strings.Split(l, "\t")
		if len(f) != 3 || f[2] != "pimvault" {
			t.Fatalf("%s: line %q, want UID<TAB>name<TAB>pimvault\n%s%s", step, l, kres.stdout, kres.stderr)
		}
		got[f[0]] = f[1]
	}
	if showFNs(got) != showFNs(want) {
		t.Fatalf("%s:\n got  %s\n want %s\n%s%s", step, showFNs(got), showFNs(want), kres.stdout, kres.stderr)
	}
	step = "(e) khard email"
	kres = r.run("khard", "-c", r.khardConfig(), "email", "--parsable")
	if wantLine := "frank@example.org\tFrank Fischer (local)\twork"; kres.code != 0 || strings.Join(khardRows(kres.stdout), "\n") != wantLine {
		t.Fatalf("%s: exit %d, output %q; want exit 0 and %q\n%s", step, kres.code, kres.stdout, wantLine, kres.stderr)
	}
	step = "(e) khard phone"
	kres = r.run("khard", "-c", r.khardConfig(), "phone", "--parsable")
	if wantLine := "+49 30 1111\tBob Builder-Local\tcell"; kres.code != 0 || strings.Join(khardRows(kres.stdout), "\n") != wantLine {
		t.Fatalf("%s: exit %d, output %q; want exit 0 and %q\n%s", step, kres.code, kres.stdout, wantLine, kres.stderr)
	}

	// After a graceful stop the store verifies end to end.
	r.rs.stop(t)
	if v := pimvault(t, "verify", "--data", r.data); v.code != 0 {
		t.Fatalf("verify after the client runs: %s", v)
	}
}
