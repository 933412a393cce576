package server

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

// AdminSocketName is the admin socket's file name inside the data directory.
const AdminSocketName = "admin.sock"

// AdminResult is what an admin command reports.
type AdminResult struct {
	Output string `json:"output"`
	Failed bool   `json:"failed"` // the command ran and found a problem (exit status 1)
	Error  string `json:"error,omitempty"`
}

// AdminCommand is a command that runs against an open store, either inside a
// running server (through the admin socket) or in the admin's own process.
type AdminCommand func(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error)

// adminCommands are the commands the admin socket serves.
var adminCommands = map[string]AdminCommand{
	"verify":  adminVerify,
	"rebuild": adminRebuild,
	"status":  adminStatus,
}

// RunAdmin runs a named admin command against an open store.
func RunAdmin(ctx context.Context, name string, s *storage.Store, args map[string]string) (AdminResult, error) {
	cmd, ok := adminCommands[name]
	if !ok {
		names := make([]string, 0, len(adminCommands))
		for n := range adminCommands {
			names = append(names, n)
		}
		sort.Strings(names)
		return AdminResult{}, fmt.Errorf("unknown admin command %q (known: %s)", name, strings.Join(names, ", "))
	}
	return cmd(ctx, s, args)
}

func adminVerify(ctx context.Context, s *storage.Store, _ map[string]string) (AdminResult, error) {
	rep, err := s.Verify(ctx)
	if err != nil {
		var ce *storage.CorruptionError
		if errors.As(err, &ce) {
			return AdminResult{Output: err.Error() + "\n", Failed: true}, nil
		}
		return AdminResult{}, err
	}
	return AdminResult{Output: rep.String(), Failed: !rep.OK()}, nil
}

func adminRebuild(ctx context.Context, s *storage.Store, _ map[string]string) (AdminResult, error) {
	q, err := s.Rebuild(ctx)
	if err != nil {
		return AdminResult{}, err
	}
	hash, seq, err := s.StateHash()
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("rebuilt store.db from the journal up to sequence %d\nstate hash: %s\nprevious store.db kept at %s\n", seq, hash, q)}, nil
}

func adminStatus(_ context.Context, s *storage.Store, _ map[string]string) (AdminResult, error) {
	hash, seq, err := s.StateHash()
	if err != nil {
		return AdminResult{}, err
	}
	epoch, _, err := s.Epoch()
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("store id: %s\nepoch: %s\nhead sequence: %d\nstate hash: %s\n", s.Identity().StoreID, epoch, seq, hash) + journalBaseStatus(s) + backupStatus(s.Dir()) + s.ReplicationStatus()}, nil
}

// AdminSocket serves admin commands for a running server.
type AdminSocket struct {
	path string
	srv  *http.Server
	ln   net.Listener
}

// ListenAdmin creates <dir>/admin.sock (mode 0600) and serves admin commands
// on it until Close. The caller must hold the store open.
func ListenAdmin(dir string, s *storage.Store, log *slog.Logger) (*AdminSocket, error) {
	path := filepath.Join(dir, AdminSocketName)
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
			Args map[string]string `json:"args"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil && err != io.EOF {
			writeAdmin(w, http.StatusBadRequest, AdminResult{Error: "bad request: " + err.Error()})
			return
		}
		name := r.PathValue("cmd")
		log.Info("admin command", "cmd", name)
		res, err := RunAdmin(r.Context(), name, s, req.Args)
		if err != nil {
			writeAdmin(w, http.StatusInternalServerError, AdminResult{Error: err.Error()})
			return
		}
		writeAdmin(w, http.StatusOK, res)
	})
	a := &AdminSocket{path: path, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go a.srv.Serve(ln)
	return a, nil
}

func writeAdmin(w http.ResponseWriter, status int, res AdminResult) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}

// Close stops serving and removes the socket file.
func (a *AdminSocket) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	os.Remove(a.path)
	return err
}

// CallAdmin sends a command to the server that holds dir, through its admin
// socket.
func CallAdmin(ctx context.Context, dir, name string, args map[string]string) (AdminResult, error) {
	path := filepath.Join(dir, AdminSocketName)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	body, _ := json.Marshal(map[string]any{"args": args})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin/admin/"+name, strings.NewReader(string(body)))
	if err != nil {
		return AdminResult{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return AdminResult{}, fmt.Errorf("the data directory is locked by a running process, but its admin socket %s does not answer: %w", path, err)
	}
	defer resp.Body.Close()
	var res AdminResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return AdminResult{}, fmt.Errorf("admin socket answer: %w", err)
	}
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	return res, nil
}

func init() {
	adminCommands["user-add"] = adminUserAdd
	adminCommands["user-passwd"] = adminUserPasswd
	adminCommands["user-disable"] = adminUserDisable
	adminCommands["user-enable"] = adminUserEnable
	adminCommands["user-list"] = adminUserList
}

// userPassword returns the password the admin gave, or a generated one and a
// line that prints it once.
func userPassword(args map[string]string) (pw, shown string) {
	if pw = args["password"]; pw != "" {
		return pw, ""
	}
	pw = GeneratePassword()
	return pw, fmt.Sprintf("password: %s\n", pw)
}

func adminUserAdd(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	pw, shown := userPassword(args)
	if err := AddUser(ctx, s, args["name"], pw); err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("user %s created\n%s", args["name"], shown)}, nil
}

func adminUserPasswd(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	pw, shown := userPassword(args)
	if err := SetPassword(ctx, s, args["name"], pw); err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("password of %s changed\n%s", args["name"], shown)}, nil
}

func adminUserDisable(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	if err := SetDisabled(ctx, s, args["name"], true); err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("user %s disabled\n", args["name"])}, nil
}

func adminUserEnable(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	if err := SetDisabled(ctx, s, args["name"], false); err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("user %s enabled\n", args["name"])}, nil
}

func adminUserList(_ context.Context, s *storage.Store, _ map[string]string) (AdminResult, error) {
	ps, err := s.Principals()
	if err != nil {
		return AdminResult{}, err
	}
	var b strings.Builder
	for _, p := range ps {
		a, err := decodeAccount(p)
		if err != nil {
			return AdminResult{}, err
		}
		state := "active"
		if a.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(&b, "%s\t%s\tcreated %s\n", p.Name, state, a.Created.Format(time.RFC3339))
	}
	return AdminResult{Output: b.String()}, nil
}
