package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pimvault/pimvault/storage"
)

// History bounds: a collection's page shows the newest historyPage
// changes (up to storage.MaxHistory with ?limit=); an item's history looks
// through the newest itemHistoryScan changes of its collection.
const (
	historyPage     = 200
	itemHistoryScan = 5000
)

type historyRow struct {
	storage.HistoryEntry
	Before uint64 // the sequence whose state "undo from here" brings back
}

// target checks that the principal a page acts on exists (the user's own,
// or for an admin's undo on a user's behalf, the named one).
func (p *Pages) target(user string) error {
	if err := storage.ValidateName("user", user); err != nil {
		return errNotFound
	}
	if _, err := p.store.Principal(user); err != nil {
		return errNotFound
	}
	return nil
}

// known checks that a collection (and object) named by a history or undo
// request is the principal's: it exists now or has a recorded past. Another
// user's collection is neither, so it is "not found", as on every page.
func (p *Pages) known(user, col, obj string) error {
	if col == "" {
		if obj != "" {
			return badRequest("an item's history needs its collection")
		}
		return nil
	}
	if storage.ValidateName("collection", col) != nil || (obj != "" && storage.ValidateName("object", obj) != nil) {
		return errNotFound
	}
	if obj == "" {
		if _, err := p.store.Collection(user, col); err == nil {
			return nil
		}
	} else if _, err := p.store.Get(user, col, obj); err == nil {
		return nil
	}
	entries, err := p.store.History(user, col, itemHistoryScan)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if obj == "" || (e.Collection == col && e.Name == obj) || (e.ToCollection == col && e.ToName == obj) {
			return nil
		}
	}
	return errNotFound
}

// history lists changes of a principal, of one of its collections or of
// one item, newest first, each with an undo button that previews bringing
// back the state before it.
func (p *Pages) history(x *req, user, base string) error {
	if err := p.target(user); err != nil {
		return err
	}
	q := x.r.URL.Query()
	col, obj := q.Get("collection"), q.Get("object")
	if err := p.known(user, col, obj); err != nil {
		return err
	}
	limit := historyPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxHistory {
			return badRequest(fmt.Sprintf("limit must be between 1 and %d", storage.MaxHistory))
		}
		limit = n
	}
	scan := limit
	if obj != "" {
		scan = max(limit, itemHistoryScan)
	}
	entries, err := p.store.History(user, col, scan)
	if err != nil {
		return err
	}
	var rows []historyRow
	for _, e := range entries {
		if obj != "" && !(e.Name == obj && e.Collection == col) && !(e.ToName == obj && e.ToCollection == col) {
			continue
		}
		if len(rows) >= limit {
			break
		}
		rows = append(rows, historyRow{HistoryEntry: e, Before: e.Seq - 1})
	}
	title := "History"
	switch {
	case obj != "":
		title = "History of " + col + "/" + obj
	case col != "":
		title = "History of " + col
	}
	if user != x.user {
		title += " (" + user + ")"
	}
	return p.show(x, http.StatusOK, "history", view{Title: title, Nav: "history", Data: map[string]any{
		"Rows": rows, "Collection": col, "Object": obj, "Base": base, "Target": user, "More": len(entries) >= scan && scan < storage.MaxHistory,
		"Limit": limit}})
}

// undoForm is the undo request a history page posts.
func undoForm(x *req, user string) (storage.UndoRequest, error) {
	f := x.r.PostForm
	req := storage.UndoRequest{Principal: user, Collection: f.Get("collection"), Object: f.Get("object")}
	n, err := strconv.ParseUint(f.Get("to_seq"), 10, 64)
	if err != nil || n == 0 {
		return req, badRequest("to_seq: want a positive sequence number")
	}
	req.ToSeq = n
	return req, nil
}

// planDigest fingerprints a preview's items, so that an apply can tell the
// plan it would carry out is the one the person saw.
func planDigest(rep *storage.UndoReport) string {
	h := sha256.New()
	for _, it := range rep.Items {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", it.Action, it.Collection, it.Name, it.UID)
	}
	for _, c := range rep.PerCollection {
		fmt.Fprintf(h, "collection\x00%s\x00%s\x00%d\x00%d\x00%d\n", c.Collection, c.Action, c.Added, c.Removed, c.Changed)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// undoView splits an undo report into what comes back and what goes; the
// per-collection counts include the objects that go with a removed
// collection.
func undoView(rep *storage.UndoReport, req storage.UndoRequest, base, target string) map[string]any {
	var back, gone, failed []storage.UndoItem
	for _, it := range rep.Items {
		switch {
		case it.Error != "":
			failed = append(failed, it)
		case it.Action == storage.UndoRemove || it.Action == storage.UndoRemoveCol:
			gone = append(gone, it)
		default:
			back = append(back, it)
		}
	}
	return map[string]any{"Report": rep, "Back": back, "Gone": gone, "Failed": failed, "Req": req, "Items": rep.Items,
		"Digest": planDigest(rep), "Base": base, "Target": target}
}

// undoPlan reads the undo form for user's data and runs it as a dry run:
// the plan the preview shows and the apply compares with the one previewed.
func (p *Pages) undoPlan(x *req, user string) (storage.UndoRequest, *storage.UndoReport, error) {
	if err := p.target(user); err != nil {
		return storage.UndoRequest{}, nil, err
	}
	req, err := undoForm(x, user)
	if err != nil {
		return req, nil, err
	}
	if err := p.known(user, req.Collection, req.Object); err != nil {
		return req, nil, err
	}
	req.DryRun = true
	rep, err := p.store.Undo(x.r.Context(), req)
	return req, rep, err
}

// undoPreview runs the undo as a dry run (storage.Store.Undo, the code the
// CLI and /api/undo run) and lists exactly what would come back and go.
func (p *Pages) undoPreview(x *req, user, base string) error {
	req, rep, err := p.undoPlan(x, user)
	if err != nil {
		return err
	}
	return p.show(x, http.StatusOK, "undo", view{Title: "Undo: preview", Nav: "history", Data: undoView(rep, req, base, user)})
}

// undoApply carries out the undo the person previewed. When the data
// changed since the preview, the plan differs: nothing is done and the new
// preview is shown instead.
func (p *Pages) undoApply(x *req, user, base string) error {
	req, dry, err := p.undoPlan(x, user)
	if err != nil {
		return err
	}
	if planDigest(dry) != x.r.PostFormValue("digest") {
		return p.show(x, http.StatusConflict, "undo", view{Title: "Undo: preview", Nav: "history",
			Error: "The data changed since the preview, so nothing was done. Here is what the undo would do now.", Data: undoView(dry, req, base, user)})
	}
	// The person saw exactly this plan, so it is confirmed even when it
	// removes a collection or many objects (storage's confirmation rule).
	req.DryRun, req.Confirm = false, true
	rep, err := p.store.Undo(x.r.Context(), req)
	if err != nil {
		return err
	}
	p.log.Info("web undo", "by", x.user, "user", user, "collection", req.Collection, "object", req.Object, "to_seq", req.ToSeq,
		"re_added", rep.ReAdded, "changed_back", rep.ChangedBack, "removed", rep.Removed, "failed", rep.Failed)
	return p.show(x, http.StatusOK, "undo", view{Title: "Undo: done", Nav: "history", Data: undoView(rep, req, base, user)})
}
