package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/pimvault/pimvault/device"
)

const deviceUsage = `usage: pimvault device <action> --dir DIR [flags]

actions:
  init     --server URL --user NAME --password-stdin --dir DIR
           create a replica; the password is stored in DIR/password (mode 0600)
           and the replica in DIR/replica.db (mode 0600)
  sync     --dir DIR                push local changes, then pull; reconciles after a
                                    server recovery or a new epoch
  status   --dir DIR [--items]      collections, tokens, counts (and items)
  add      --dir DIR --collection NAME --file FILE        add a vCard/iCalendar object
  edit     --dir DIR --collection NAME --item HREF|UID --file FILE
  delete   --dir DIR --collection NAME --item HREF|UID
  export   --dir DIR --out FOLDER   write a vdir folder (one .vcf/.ics per item)
`

func runDevice(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, deviceUsage)
		return 2
	}
	if wantsHelp(args[:1]) {
		fmt.Fprint(stdout, deviceUsage)
		return 0
	}
	verb := args[0]
	fs := newFlagSet("device "+verb, stderr)
	dir := fs.String("dir", "", "replica directory (required)")
	var run func() error
	switch verb {
	case "init":
		server := fs.String("server", "", "server base URL, e.g. http://127.0.0.1:8080")
		user := fs.String("user", "", "account name")
		pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (stored in DIR/password, mode 0600)")
		id := fs.String("device-id", "", "device id (default: random)")
		run = func() error {
			if !*pwStdin {
				return errors.New("--password-stdin is required (the password is never taken from the command line)")
			}
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read password: %w", err)
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return errors.New("standard input holds no password")
			}
			r, err := device.Init(*dir, device.Config{Server: *server, User: *user, Password: pw, DeviceID: *id})
			if err != nil {
				return err
			}
			defer r.Close()
			fmt.Fprintf(stdout, "device %s initialised in %s for %s at %s\n", r.Config().DeviceID, *dir, *user, *server)
			return nil
		}
	case "sync":
		verbose := fs.Bool("v", false, "log each step to standard error")
		run = func() error { return deviceSync(ctx, *dir, *verbose, stdout, stderr) }
	case "status":
		items := fs.Bool("items", false, "list every item")
		run = func() error { return deviceStatus(*dir, *items, stdout) }
	case "add", "edit", "delete":
		coll := fs.String("collection", "", "collection: name (e.g. contacts), href or display name")
		item := fs.String("item", "", "item href, file name or UID (edit, delete)")
		file := fs.String("file", "", "vCard/iCalendar file (add, edit)")
		run = func() error { return deviceChange(verb, *dir, *coll, *item, *file, stdout) }
	case "export":
		out := fs.String("out", "", "folder to write (created; one subfolder per collection)")
		run = func() error { return deviceExport(*dir, *out, stdout) }
	default:
		fmt.Fprintf(stderr, "pimvault device: unknown action %q\n%s", verb, deviceUsage)
		return 2
	}
	if code, ok := parseArgs(fs, args[1:], stdout); !ok {
		return code
	}
	if *dir == "" || fs.NArg() != 0 {
		fmt.Fprintf(stderr, "pimvault device %s: --dir is required and no positional arguments are taken\n", verb)
		return 2
	}
	if err := run(); err != nil {
		fmt.Fprintf(stderr, "pimvault device %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func deviceSync(ctx context.Context, dir string, verbose bool, stdout, stderr io.Writer) error {
	r, err := device.Open(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	eng, err := device.NewEngine(r, log)
	if err != nil {
		return err
	}
	rep, err := eng.Sync(ctx)
	printReport(stdout, rep)
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d items could not be synced (kept on the device)", len(rep.Errors))
	}
	return nil
}

func printReport(w io.Writer, rep *device.Report) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "uploaded %d, downloaded %d, deleted on server %d, deleted here %d, conflicts %d\n",
		rep.Uploaded, rep.Downloaded, rep.DeletedOnServer, rep.DeletedLocally, len(rep.Conflicts))
	for _, c := range rep.Recovered {
		fmt.Fprintf(w, "reconciled after a server recovery: %s\n", c)
	}
	if rep.RecoveryDone {
		fmt.Fprintln(w, "reported recovery done to the server")
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "conflict: %s kept the server's version; this device's is now %s\n", c.Href, c.CopyHref)
	}
	for _, s := range rep.Refused {
		fmt.Fprintf(w, "refused: %s\n", s)
	}
	for _, s := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", s)
	}
	for _, s := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", s)
	}
}

func deviceStatus(dir string, items bool, w io.Writer) error {
	r, err := device.Open(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	cfg := r.Config()
	fmt.Fprintf(w, "device: %s\nserver: %s\nuser: %s\n", cfg.DeviceID, cfg.Server, cfg.User)
	return r.View(func(t *device.Txn) error {
		cs, err := t.Collections()
		if err != nil {
			return err
		}
		for _, c := range cs {
			n, err := t.Count(c.Href)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "collection %s (%s) token %q: %d items, %d dirty, %d never synced, %d deletions pending, %d deletions seen\n",
				c.Href, c.Kind, c.Token, n.Items, n.Dirty, n.NeverSynced, n.PendingDeletions, n.Applied)
			if !items {
				continue
			}
			its, err := t.Items(c.Href)
			if err != nil {
				return err
			}
			for _, it := range its {
				fmt.Fprintf(w, "  %s uid=%s etag=%s dirty=%v\n", it.Href, it.UID, it.ETag, it.Dirty)
			}
		}
		return nil
	})
}

func deviceChange(verb, dir, coll, item, file string, w io.Writer) error {
	if coll == "" {
		return errors.New("--collection is required")
	}
	var body []byte
	if verb != "delete" {
		if file == "" {
			return errors.New("--file is required")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		body = b
	}
	if verb != "add" && item == "" {
		return errors.New("--item is required")
	}
	r, err := device.Open(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Update(func(t *device.Txn) error {
		c, err := t.FindCollection(coll)
		if err != nil {
			return fmt.Errorf("%w (run 'pimvault device sync' first to learn the server's collections)", err)
		}
		var it device.Item
		switch verb {
		case "add":
			it, err = t.AddLocal(c, body)
		case "edit":
			it, err = t.EditLocal(c, item, body)
		default:
			it, err = t.DeleteLocal(c, item)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s %s (uid %s); run 'pimvault device sync' to send it\n", verb, it.Href, it.UID)
		return nil
	})
}

func deviceExport(dir, out string, w io.Writer) error {
	if out == "" {
		return errors.New("--out is required")
	}
	r, err := device.Open(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	n := 0
	err = r.View(func(t *device.Txn) error {
		cs, err := t.Collections()
		if err != nil {
			return err
		}
		for _, c := range cs {
			sub := filepath.Join(out, string(c.Kind)+"-"+safeFileName(c.Href))
			if err := os.MkdirAll(sub, 0o700); err != nil {
				return err
			}
			items, err := t.Items(c.Href)
			if err != nil {
				return err
			}
			for _, it := range items {
				name := safeFileName(it.Href)
				if !strings.HasSuffix(name, c.Kind.Ext()) {
					name += c.Kind.Ext()
				}
				if err := os.WriteFile(filepath.Join(sub, name), it.Body, 0o600); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err == nil {
		fmt.Fprintf(w, "exported %d items to %s\n", n, out)
	}
	return err
}

// safeFileName is the last segment of an href, with anything that is not
// safe in a file name replaced.
func safeFileName(href string) string {
	s := strings.TrimSuffix(href, "/")
	s = s[strings.LastIndexByte(s, '/')+1:]
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r < 32 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		s = "_"
	}
	return s
}
