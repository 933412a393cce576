package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
)

// TestBackupToNATSObjectStore: 'pimvault backup --to nats://…/BUCKET
// --trim-stream' on a running sync primary stores a verified snapshot in
// a JetStream object store bucket and trims the stream below it; the
// stream alone then restores nothing, and 'pimvault restore
// --from-nats-object' brings the store back into an empty directory with
// the primary's state hash, writes after the backup included; a new
// standby started with --seed-bucket follows the trimmed stream.
func TestBackupToNATSObjectStore(t *testing.T) {
	t.Parallel()
	c := natstest.Start(t, 3)
	pdir := t.TempDir()
	rs := startServer(t, pdir, "--user", "dora", "--replicate", c.URLs(), "--lease-ttl", "5s", "--nats-timeout", "2s")
	cl := davClient{url: rs.url, user: "dora", password: rs.password, http: &http.Client{Timeout: 10 * time.Second}}
	put := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s%d.vcf", prefix, i)
			putEventually(t, cl, name, card("3.0", name, "Person "+name), 10*time.Second)
		}
	}
	put("a", 15)
	bucket := c.URLs() + "/PVSNAP"
	res := pimvault(t, "backup", "--data", pdir, "--to", bucket, "--trim-stream")
	if res.code != 0 || !strings.Contains(res.stdout, "read back from the bucket and verified") || !strings.Contains(res.stdout, "trimmed") {
		t.Fatalf("backup --to:\n%s", res)
	}
	put("b", 10)
	hash, head := status(t, pdir)

	if res := pimvault(t, "restore", "--from-stream", c.URLs(), "--out", filepath.Join(t.TempDir(), "s")); res.code == 0 {
		t.Fatalf("restore from the trimmed stream alone succeeded:\n%s", res)
	}
	out := filepath.Join(t.TempDir(), "restored")
	res = pimvault(t, "restore", "--from-nats-object", bucket, "--out", out)
	if res.code != 0 {
		t.Fatalf("restore --from-nats-object:\n%s", res)
	}
	if want := fmt.Sprintf("state hash at %s: %s", head, hash); !strings.Contains(res.stdout, want) {
		t.Fatalf("restore --from-nats-object: want %q in\n%s", want, res)
	}
	expectVerifyOK(t, out)
	// A new standby of the trimmed stream starts from the bucket.
	sdir := filepath.Join(t.TempDir(), "standby")
	startServer(t, sdir, "--follow", c.URLs(), "--seed-bucket", "PVSNAP", "--lease-ttl", "5s", "--nats-timeout", "2s")
	put("c", 3)
	waitSameState(t, pdir, sdir, 30*time.Second)
	if res := pimvault(t, "backup", "--data", pdir, "--to", "nats://127.0.0.1:1/bad.bucket"); res.code != 2 {
		t.Fatalf("backup --to with a bad bucket name: want usage (2):\n%s", res)
	}
}
