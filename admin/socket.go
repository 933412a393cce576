package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// SocketName is the admin socket's file name inside the data directory.
const SocketName = "admin.sock"

// Result is what an admin command reports.
type Result struct {
	Output string `json:"output"`
	Failed bool   `json:"failed"` // the command ran and found a problem (exit status 1)
	Error  string `json:"error,omitempty"`
}

// Request holds the arguments of every admin command; each command reads
// the fields it documents and ignores the others.
type Request struct {
	// User is the account: user-*, recovery-*, undo, export, import.
	User string `json:"user,omitempty"`
	// Password for user-add and user-passwd; empty: one is generated and
	// printed once.
	Password string `json:"password,omitempty"`
	// Reason is shown by recovery-status (recovery-open).
	Reason string `json:"reason,omitempty"`
	// WindowDays: devices seen within this many days hold up an automatic
	// close (recovery-status); 0 is the default window.
	WindowDays int `json:"window_days,omitempty"`
	// Retention: prune sealed journal segments older than this (prune).
	Retention time.Duration `json:"retention,omitempty"`
	// DryRun reports what would change and changes nothing (prune, undo,
	// import).
	DryRun bool `json:"dry_run,omitempty"`
	// Out is an absolute output path (backup, export).
	Out string `json:"out,omitempty"`
	// Path is the absolute path to import from (import).
	Path string `json:"path,omitempty"`
	// Collection narrows undo and history to one collection, or names the
	// collection an import goes into.
	Collection string `json:"collection,omitempty"`
	// Limit bounds the changes history lists (0: its default).
	Limit int `json:"limit,omitempty"`
	// Object narrows undo to one object of Collection.
	Object string `json:"object,omitempty"`
	// ToTime (RFC 3339) or ToSeq is the point undo brings the data back to.
	ToTime string `json:"to_time,omitempty"`
	ToSeq  uint64 `json:"to_seq,omitempty"`
	// Emails are the account's e-mail addresses (user-email); none clears them.
	Emails []string `json:"emails,omitempty"`
	// Sharee and Access: share-add gives Sharee Access ("read" or
	// "read-write") to User's Collection; share-remove takes it back.
	Sharee string `json:"sharee,omitempty"`
	Access string `json:"access,omitempty"`
	// On: user-birthdays creates and fills User's birthday calendar (true)
	// or deletes it (false).
	On bool `json:"on,omitempty"`
	// Confirm applies an undo that removes a collection or many objects
	// (without it such an undo only reports what it would do).
	Confirm bool `json:"confirm,omitempty"`
	// Tmp is an absolute scratch directory for verify's and drill's copy
	// (default: the data directory).
	Tmp string `json:"tmp,omitempty"`
	// Force promotes a standby without waiting for the old primary's lease
	// (promote).
	Force bool `json:"force,omitempty"`
	// Message is a mail taken from an MTA (imip-receive).
	Message []byte `json:"message,omitempty"`
	// Devices are the device ids a recovery waits for (recovery-expect).
	Devices []string `json:"devices,omitempty"`
	// Label names a new app password (app-password-add); ID names one to
	// revoke (app-password-revoke).
	Label string `json:"label,omitempty"`
	ID    string `json:"id,omitempty"`
}

// Command is a command that runs against an open store, either inside a
// running server (through the admin socket) or in the admin's own process.
type Command func(ctx context.Context, s *storage.Store, req Request) (Result, error)

// commands is the one table of admin commands.
var commands = map[string]Command{
	"verify":              verify,
	"promote":             promote,
	"rebuild":             rebuild,
	"status":              status,
	"user-add":            userAdd,
	"user-passwd":         userPasswd,
	"user-disable":        userDisable,
	"user-enable":         userEnable,
	"user-list":           userList,
	"user-delete":         userDelete,
	"user-email":          userEmail,
	"user-birthdays":      userBirthdays,
	"share-add":           shareAdd,
	"share-remove":        shareRemove,
	"share-list":          shareList,
	"user-admin":          userAdmin,
	"user-unadmin":        userUnadmin,
	"app-password-add":    appPasswordAdd,
	"app-password-list":   appPasswordList,
	"app-password-revoke": appPasswordRevoke,
	"prune":               prune,
	"recovery-open":       recoveryOpen,
	"recovery-close":      recoveryClose,
	"recovery-status":     recoveryStatus,
	"recovery-expect":     recoveryExpect,
	"recovery-reapply":    recoveryReapply,
	"backup":              backup,
	"drill":               drill,
	"undo":                undo,
	"history":             history,
	"export":              export,
	"import":              importFrom,
}

// Run runs a named admin command against an open store.
func Run(ctx context.Context, name string, s *storage.Store, req Request) (Result, error) {
	cmd, ok := commands[name]
	if !ok {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		return Result{}, fmt.Errorf("unknown admin command %q (known: %s)", name, strings.Join(names, ", "))
	}
	return cmd(ctx, s, req)
}

func verify(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	rep, err := s.VerifyIn(ctx, req.Tmp)
	if err != nil {
		var ce *storage.CorruptionError
		if errors.As(err, &ce) {
			return Result{Output: err.Error() + "\n", Failed: true}, nil
		}
		return Result{}, err
	}
	return Result{Output: rep.String(), Failed: !rep.OK()}, nil
}

func rebuild(ctx context.Context, s *storage.Store, _ Request) (Result, error) {
	q, err := s.Rebuild(ctx)
	if err != nil {
		return Result{}, err
	}
	hash, seq, err := s.StateHash()
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("rebuilt store.db from the journal up to sequence %d\nstate hash: %s\nprevious store.db kept at %s\n", seq, hash, q)}, nil
}

func status(_ context.Context, s *storage.Store, _ Request) (Result, error) {
	hash, seq, err := s.StateHash()
	if err != nil {
		return Result{}, err
	}
	epoch, _, err := s.Epoch()
	if err != nil {
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("store id: %s\nepoch: %s\nhead sequence: %d\nstate hash: %s\n", s.Identity().StoreID, epoch, seq, hash) + journalBaseStatus(s) + backupStatus(s.Dir()) + s.ReplicationStatus() + divergedStatus(s.Dir())}, nil
}

// Socket serves admin commands for a running server.
type Socket struct {
	path string
	srv  *http.Server
	ln   net.Listener
}

// Listen creates <dir>/admin.sock (mode 0600) and serves admin commands
// on it until Close. The caller must hold the store open. served are the
// commands only a running server can run (imip-receive, which needs the
// server's configuration), tried before the table.
func Listen(dir string, s *storage.Store, log *slog.Logger, served map[string]Command) (*Socket, error) {
	path := filepath.Join(dir, SocketName)
	os.Remove(path) // a stale socket of a process that died; we hold the lock
	// 0177: bind creates the socket as 0600 at once, so there is no moment
	// in which it is connectable with a wider mode (the Chmod below is a
	// second guard for platforms that ignore the umask on sockets).
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/{cmd}", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Args Request `json:"args"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 3<<20)).Decode(&req); err != nil && err != io.EOF {
			writeResult(w, http.StatusBadRequest, Result{Error: "bad request: " + err.Error()})
			return
		}
		name := r.PathValue("cmd")
		log.Info("admin command", "cmd", name)
		run := Run
		if cmd, ok := served[name]; ok {
			run = func(ctx context.Context, _ string, s *storage.Store, req Request) (Result, error) {
				return cmd(ctx, s, req)
			}
		}
		res, err := run(r.Context(), name, s, req.Args)
		if err != nil {
			writeResult(w, http.StatusInternalServerError, Result{Error: err.Error()})
			return
		}
		writeResult(w, http.StatusOK, res)
	})
	a := &Socket{path: path, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go a.srv.Serve(ln)
	return a, nil
}

func writeResult(w http.ResponseWriter, status int, res Result) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}

// Close stops serving and removes the socket file.
func (a *Socket) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	os.Remove(a.path)
	return err
}

// Call sends a command to the server that holds dir, through its admin
// socket.
func Call(ctx context.Context, dir, name string, req Request) (Result, error) {
	path := filepath.Join(dir, SocketName)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	body, _ := json.Marshal(map[string]any{"args": req})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin/admin/"+name, strings.NewReader(string(body)))
	if err != nil {
		return Result{}, err
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return Result{}, fmt.Errorf("the data directory is locked by a running process, but its admin socket %s does not answer: %w", path, err)
	}
	defer resp.Body.Close()
	var res Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return Result{}, fmt.Errorf("admin socket answer: %w", err)
	}
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	return res, nil
}
