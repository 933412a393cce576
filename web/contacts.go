package web

import (
	"bytes"
	"net/http"
	"sort"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// maxListed bounds the contacts one page lists.
const maxListed = 2000

// contactRow is one contact in the list.
type contactRow struct {
	Object string // the object's name in the collection
	Name   string
	Emails []string
	Phones []string
	Org    string
}

// summarize reads the few vCard properties the list shows from a stored
// body (already validated when it was written). Folded lines are joined;
// values are unescaped the way RFC 6350 §3.4 escapes text.
func summarize(body []byte) contactRow {
	var c contactRow
	body = bytes.ReplaceAll(body, []byte("\r\n "), nil)
	body = bytes.ReplaceAll(body, []byte("\r\n\t"), nil)
	body = bytes.ReplaceAll(body, []byte("\n "), nil)
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		i := strings.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name, value := strings.ToUpper(line[:i]), unescapeText(line[i+1:])
		if j := strings.IndexByte(name, ';'); j >= 0 {
			name = name[:j]
		}
		if j := strings.LastIndexByte(name, '.'); j >= 0 { // a group prefix
			name = name[j+1:]
		}
		switch name {
		case "FN":
			if c.Name == "" {
				c.Name = value
			}
		case "EMAIL":
			if len(c.Emails) < 5 {
				c.Emails = append(c.Emails, value)
			}
		case "TEL":
			if len(c.Phones) < 5 {
				c.Phones = append(c.Phones, value)
			}
		case "ORG":
			if c.Org == "" {
				c.Org = strings.TrimRight(strings.ReplaceAll(value, ";", ", "), ", ")
			}
		}
	}
	return c
}

func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	r := strings.NewReplacer(`\n`, " ", `\N`, " ", `\,`, ",", `\;`, ";", `\\`, `\`)
	return r.Replace(v)
}

func (c contactRow) matches(q string) bool {
	if q == "" {
		return true
	}
	hay := strings.ToLower(c.Name + "\x00" + c.Org + "\x00" + strings.Join(c.Emails, "\x00") + "\x00" + strings.Join(c.Phones, "\x00"))
	return strings.Contains(hay, q)
}

// contacts lists an address book, narrowed by the search ?q=.
func (p *Pages) contacts(x *req, c storage.Collection) error {
	q := strings.TrimSpace(x.r.URL.Query().Get("q"))
	if len(q) > 200 {
		return badRequest("the search is longer than 200 bytes")
	}
	lq := strings.ToLower(q)
	var rows []contactRow
	more := false
	err := p.store.Objects(x.user, c.Name, true, func(o storage.Object) error {
		if err := x.r.Context().Err(); err != nil {
			return err
		}
		row := summarize(o.Body)
		row.Object = o.Name
		if row.Name == "" {
			row.Name = o.Name
		}
		if !row.matches(lq) {
			return nil
		}
		if len(rows) >= maxListed {
			more = true
			return nil
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name) })
	return p.show(x, http.StatusOK, "contacts", view{Title: rowOf(c).Display, Nav: "collections",
		Data: map[string]any{"Col": rowOf(c), "Q": q, "Rows": rows, "More": more, "Max": maxListed}})
}
