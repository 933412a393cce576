package web

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/storage"
)

type accountRow struct {
	Name       string
	Admin      bool
	Disabled   bool
	Recovering bool
	Created    string
}

type recoveryRow struct {
	User     string
	Recovery storage.RecoveryState
	Devices  []deviceRow
}

type snapshotRow struct {
	File string
	storage.SnapshotInfo
}

// adminHome shows the store's status, the accounts, the recoveries and the
// backups.
func (p *Pages) adminHome(x *req) error {
	return p.showAdmin(x, http.StatusOK, "", "")
}

func (p *Pages) showAdmin(x *req, status int, notice, output string) error {
	s := p.store
	data := map[string]any{"Output": output}
	epoch, _, err := s.Epoch()
	if err != nil {
		return err
	}
	segs, jbytes, err := s.JournalSize()
	if err != nil {
		return err
	}
	data["StoreID"], data["Epoch"], data["Head"] = s.Identity().StoreID, epoch, s.Head()
	data["Segments"], data["JournalBytes"] = segs, jbytes
	snaps, err := storage.ListSnapshots(filepath.Join(s.Dir(), storage.SnapshotDir))
	if err != nil {
		data["SnapshotError"] = err.Error()
	}
	var rows []snapshotRow
	for i := len(snaps) - 1; i >= 0; i-- {
		rows = append(rows, snapshotRow{File: filepath.Base(snaps[i].Path), SnapshotInfo: snaps[i]})
	}
	data["Snapshots"] = rows
	drill, err := storage.LastDrill(s.Dir())
	if err != nil {
		data["DrillError"] = err.Error()
	}
	data["Drill"] = drill

	ps, err := s.Principals()
	if err != nil {
		return err
	}
	var accts []accountRow
	var recs []recoveryRow
	for _, pr := range ps {
		a, err := account.Decode(pr)
		if err != nil {
			return err
		}
		st, err := s.PrincipalState(pr.Name)
		if err != nil {
			return err
		}
		accts = append(accts, accountRow{Name: pr.Name, Admin: a.Admin, Disabled: a.Disabled, Recovering: st.Recovery.Recovering,
			Created: a.Created.UTC().Format("2006-01-02")})
		if st.Recovery.Recovering {
			recs = append(recs, recoveryRow{User: pr.Name, Recovery: st.Recovery, Devices: deviceRows(st)})
		}
	}
	data["Accounts"], data["Recoveries"] = accts, recs
	// On request, the whole of 'pimvault status' (replication included,
	// when the store has it), from the admin command table; it hashes the
	// whole state, so it is not on every load.
	if x.r.URL.Query().Get("full") == "1" {
		if res, err := admin.Run(x.r.Context(), "status", s, admin.Request{}); err == nil {
			data["StatusText"] = res.Output
		} else {
			data["StatusText"] = "status: " + err.Error()
		}
	}
	return p.show(x, status, "admin", view{Title: "Admin", Nav: "admin", Notice: notice, Data: data})
}

// runAdmin runs a command of the admin table (the one the CLI and the
// admin socket run) and shows its output on the admin page.
func (p *Pages) runAdmin(x *req, name string, r admin.Request, done string) error {
	res, err := admin.Run(x.r.Context(), name, p.store, r)
	if err != nil {
		return err
	}
	p.log.Info("web admin command", "by", x.user, "cmd", name, "user", r.User)
	if res.Failed {
		return p.showAdmin(x, http.StatusConflict, "", res.Output)
	}
	return p.showAdmin(x, http.StatusOK, notices[done], res.Output)
}

func (p *Pages) adminAddUser(x *req) error {
	name := strings.TrimSpace(x.r.PostFormValue("user"))
	if err := storage.ValidateName("user", name); err != nil {
		return badRequest(err.Error())
	}
	res, err := admin.Run(x.r.Context(), "user-add", p.store, admin.Request{User: name, Password: x.r.PostFormValue("password")})
	if err != nil {
		return err
	}
	if x.r.PostFormValue("admin") == "on" {
		more, err := admin.Run(x.r.Context(), "user-admin", p.store, admin.Request{User: name})
		if err != nil {
			return err
		}
		res.Output += more.Output
	}
	p.log.Info("web admin command", "by", x.user, "cmd", "user-add", "user", name)
	return p.showAdmin(x, http.StatusOK, notices["user"], res.Output)
}

// adminUserAction disables, enables, resets the password of, or grants or
// withdraws admin to an account.
func (p *Pages) adminUserAction(x *req) error {
	user := x.r.PathValue("user")
	if err := p.target(user); err != nil {
		return err
	}
	cmds := map[string]string{"disable": "user-disable", "enable": "user-enable", "password": "user-passwd",
		"admin": "user-admin", "unadmin": "user-unadmin"}
	action := x.r.PostFormValue("action")
	cmd, ok := cmds[action]
	if !ok {
		return badRequest(fmt.Sprintf("unknown account action %q", action))
	}
	if user == x.user && (action == "disable" || action == "unadmin") {
		return badRequest("you cannot " + action + " your own account here; another admin can, or use the CLI")
	}
	return p.runAdmin(x, cmd, admin.Request{User: user, Password: x.r.PostFormValue("password")}, "user")
}

func (p *Pages) adminCloseRecovery(x *req) error {
	user := x.r.PathValue("user")
	if err := p.target(user); err != nil {
		return err
	}
	return p.runAdmin(x, "recovery-close", admin.Request{User: user}, "recovery")
}

func (p *Pages) adminBackup(x *req) error {
	return p.runAdmin(x, "backup", admin.Request{}, "backup")
}

// adminDownloadBackup sends one of the snapshots listed on the admin page.
func (p *Pages) adminDownloadBackup(x *req) error {
	name := x.r.PathValue("name")
	snaps, err := storage.ListSnapshots(filepath.Join(p.store.Dir(), storage.SnapshotDir))
	if err != nil {
		return err
	}
	for _, s := range snaps {
		if filepath.Base(s.Path) != name {
			continue
		}
		f, err := os.Open(s.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		x.w.Header().Set("Content-Type", "application/octet-stream")
		x.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		http.ServeContent(x.w, x.r, name, st.ModTime(), f)
		return nil
	}
	return errNotFound
}
