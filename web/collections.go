package web

import (
	"errors"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// The DAV properties the pages read and write, in the Clark notation the
// store keeps them under (values are escaped XML text, as PROPPATCH stores
// them).
const (
	propDisplayName = "{DAV:}displayname"
	propColor       = "{http://apple.com/ns/ical/}calendar-color"
	kindAddressBook = "addressbook"
	kindCalendar    = "calendar"
	maxDisplayName  = 200
)

// colRow is one collection as the pages show it.
type colRow struct {
	Name    string
	Display string
	Kind    string
	Color   string // #rrggbb, for an <input type=color>
	Count   int64
	Bytes   int64
}

func rowOf(c storage.Collection) colRow {
	r := colRow{Name: c.Name, Kind: c.Kind, Count: c.Count, Bytes: c.Bytes, Display: c.Name, Color: "#3367d6"}
	if d := strings.TrimSpace(html.UnescapeString(string(c.Props[propDisplayName]))); d != "" {
		r.Display = d
	}
	if col := html.UnescapeString(string(c.Props[propColor])); len(col) >= 7 && colorRE.MatchString(col[:7]) {
		r.Color = strings.ToLower(col[:7])
	}
	return r
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (p *Pages) collections(x *req) error {
	cols, err := p.store.Collections(x.user)
	if err != nil {
		return err
	}
	var books, cals []colRow
	for _, c := range cols {
		switch c.Kind {
		case kindAddressBook:
			books = append(books, rowOf(c))
		case kindCalendar:
			cals = append(cals, rowOf(c))
		}
	}
	return p.show(x, http.StatusOK, "collections", view{Title: "Address books and calendars", Nav: "collections",
		Data: map[string]any{"Books": books, "Calendars": cals}})
}

// slugRE keeps the characters a generated collection name may hold.
var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

func slug(display string) string {
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(display), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = "collection"
	}
	return s
}

// formText reads a required one-line text field.
func formText(x *req, field, what string, max int) (string, error) {
	v := strings.TrimSpace(x.r.PostFormValue(field))
	switch {
	case v == "":
		return "", badRequest(what + " is empty")
	case len(v) > max:
		return "", badRequest(what + " is longer than " + strconv.Itoa(max) + " bytes")
	case strings.ContainsAny(v, "\r\n\x00"):
		return "", badRequest(what + " must be one line")
	}
	return v, nil
}

func formColor(x *req) (string, error) {
	c := x.r.PostFormValue("color")
	if c == "" {
		return "", nil
	}
	if !colorRE.MatchString(c) {
		return "", badRequest("colour must be #rrggbb")
	}
	return strings.ToUpper(c) + "FF", nil
}

// createCollection makes the change a MKCOL or MKCALENDAR makes.
func (p *Pages) createCollection(x *req) error {
	kind := x.r.PostFormValue("kind")
	if kind != kindAddressBook && kind != kindCalendar {
		return badRequest("choose an address book or a calendar")
	}
	display, err := formText(x, "display", "the name", maxDisplayName)
	if err != nil {
		return err
	}
	color, err := formColor(x)
	if err != nil {
		return err
	}
	props := map[string][]byte{propDisplayName: []byte(html.EscapeString(display))}
	if color != "" && kind == kindCalendar {
		props[propColor] = []byte(color)
	}
	base := slug(display)
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = base + "-" + strconv.Itoa(i)
		}
		_, err := p.store.Commit(x.r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: x.user,
			Collection: name, Kind: kind, Props: props, IfNoneMatch: true})
		if err == nil {
			return redirect(x, "/web/c/"+name, "created")
		}
		if !isExists(err) || i >= 20 {
			return err
		}
	}
}

func isExists(err error) bool { return errors.Is(err, storage.ErrExists) }

// ownCollection returns the signed-in user's collection named in the path.
func (p *Pages) ownCollection(x *req) (storage.Collection, error) {
	name := x.r.PathValue("col")
	if err := storage.ValidateName("collection", name); err != nil {
		return storage.Collection{}, errNotFound
	}
	c, err := p.store.Collection(x.user, name)
	if err != nil {
		return c, errNotFound
	}
	return c, nil
}

func (p *Pages) collection(x *req) error {
	c, err := p.ownCollection(x)
	if err != nil {
		return err
	}
	if c.Kind == kindCalendar {
		return p.month(x, c)
	}
	if c.Kind == kindAddressBook {
		return p.contacts(x, c)
	}
	return p.show(x, http.StatusOK, "collection", view{Title: c.Name, Nav: "collections", Data: map[string]any{"Col": rowOf(c)}})
}

// collectionSettings renames a collection or changes its colour: the
// change a PROPPATCH makes.
func (p *Pages) collectionSettings(x *req) error {
	c, err := p.ownCollection(x)
	if err != nil {
		return err
	}
	display, err := formText(x, "display", "the name", maxDisplayName)
	if err != nil {
		return err
	}
	color, err := formColor(x)
	if err != nil {
		return err
	}
	set := map[string][]byte{propDisplayName: []byte(html.EscapeString(display))}
	if color != "" && c.Kind == kindCalendar {
		set[propColor] = []byte(color)
	}
	if _, err := p.store.Commit(x.r.Context(), storage.Change{Op: storage.OpSetProps, Principal: x.user, Collection: c.Name, Props: set}); err != nil {
		return err
	}
	return redirect(x, "/web/c/"+c.Name, "saved")
}

func (p *Pages) confirmDelete(x *req) error {
	c, err := p.ownCollection(x)
	if err != nil {
		return err
	}
	return p.show(x, http.StatusOK, "delete", view{Title: "Delete " + rowOf(c).Display, Nav: "collections", Data: map[string]any{"Col": rowOf(c)}})
}

// deleteCollection writes the collection's tombstone (a DELETE on it):
// journalled, so the history can undo it.
func (p *Pages) deleteCollection(x *req) error {
	c, err := p.ownCollection(x)
	if err != nil {
		return err
	}
	if x.r.PostFormValue("confirm") != c.Name {
		return badRequest("the deletion of " + c.Name + " was not confirmed")
	}
	if _, err := p.store.Commit(x.r.Context(), storage.Change{Op: storage.OpDeleteCollection, Principal: x.user, Collection: c.Name}); err != nil {
		return err
	}
	return redirect(x, "/web/collections", "deleted")
}
