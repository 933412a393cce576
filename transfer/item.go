package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/storage"
)

// Collection kinds, as the store and the server name them.
const (
	KindAddressBook = "addressbook"
	KindCalendar    = "calendar"
)

// Item is one object to import.
type Item struct {
	Name      string // object name in the collection
	UID       string
	Component string // VCARD, VEVENT, VTODO, VJOURNAL
	Body      []byte
	From      string // file (and line) it came from
	// Span is a calendar object's entry in the store's time index (the same
	// rule as a CalDAV PUT: calendar.Object.SpanUnix); nil for vCards.
	Span *storage.Span
}

// ParseError is a bad input: which file, which line, what is wrong.
type ParseError struct {
	File string
	Line int // 1-based; 0 when not known
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// rawBlock is a BEGIN:X … END:X block of a file with its first line number.
type rawBlock struct {
	line int
	body []byte
	kids []int // lines of the BEGIN of each direct child component
}

// splitBlocks cuts data into top-level BEGIN:<name> … END:<name> blocks,
// keeping their bytes. Anything else but blank lines outside blocks is an
// error.
func splitBlocks(file string, data []byte, name string) ([]rawBlock, error) {
	var out []rawBlock
	depth, start, line := 0, 0, 0
	var cur rawBlock
	for off := 0; off < len(data); {
		line++
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		l := strings.TrimRight(string(data[off:next]), "\r\n")
		upper := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(upper, "BEGIN:"):
			if depth == 0 {
				if strings.TrimSpace(upper[6:]) != name {
					return nil, &ParseError{file, line, fmt.Sprintf("expected BEGIN:%s, found %q", name, l)}
				}
				start, cur = off, rawBlock{line: line}
			} else if depth == 1 {
				cur.kids = append(cur.kids, line)
			}
			depth++
		case strings.HasPrefix(upper, "END:"):
			depth--
			if depth < 0 {
				return nil, &ParseError{file, line, fmt.Sprintf("%q without a BEGIN", l)}
			}
			if depth == 0 {
				if strings.TrimSpace(upper[4:]) != name {
					return nil, &ParseError{file, line, fmt.Sprintf("expected END:%s, found %q", name, l)}
				}
				cur.body = data[start:next]
				out = append(out, cur)
			}
		case depth == 0 && strings.TrimSpace(l) != "":
			return nil, &ParseError{file, line, fmt.Sprintf("text outside BEGIN:%s … END:%s", name, name)}
		}
		off = next
	}
	if depth != 0 {
		return nil, &ParseError{file, line, fmt.Sprintf("file ends inside a %s (no END line)", name)}
	}
	if len(out) == 0 {
		return nil, &ParseError{file, 0, fmt.Sprintf("no %s in the file", name)}
	}
	return out, nil
}

// ParseVCards splits a .vcf file into its cards, each validated and with a UID.
func ParseVCards(file string, data []byte) ([]Item, error) {
	blocks, err := splitBlocks(file, data, "VCARD")
	if err != nil {
		return nil, err
	}
	var out []Item
	seen := map[string]int{}
	for _, b := range blocks {
		// Validated as a CardDAV PUT validates, so an import never stores
		// what a client could not have.
		info, err := card.Validate(b.body)
		if err != nil {
			return nil, &ParseError{file, b.line, err.Error()}
		}
		if info.Body != nil {
			b.body = info.Body // a vCard 2.1, rewritten as 3.0 as a PUT stores it
		}
		uid := info.UID
		// Import asks one thing more than a PUT: a name to show, since an
		// imported card has no client that would supply one.
		vc, err := vcard.NewDecoder(bytes.NewReader(b.body)).Decode()
		if err != nil {
			return nil, &ParseError{file, b.line, "invalid vCard: " + err.Error()}
		}
		if vc.Value(vcard.FieldFormattedName) == "" && vc.Value(vcard.FieldName) == "" {
			return nil, &ParseError{file, b.line, "vCard has neither FN nor N"}
		}
		if l, dup := seen[uid]; dup {
			return nil, &ParseError{file, b.line, fmt.Sprintf("UID %q appears twice (also at line %d)", uid, l)}
		}
		seen[uid] = b.line
		out = append(out, Item{Name: objectName(uid, ".vcf"), UID: uid, Component: "VCARD", Body: b.body, From: fmt.Sprintf("%s:%d", file, b.line)})
	}
	return out, nil
}

// ParseCalendar splits a .ics file into one object per UID. A VCALENDAR
// with one UID is kept byte for byte.
func ParseCalendar(file string, data []byte) ([]Item, error) {
	blocks, err := splitBlocks(file, data, "VCALENDAR")
	if err != nil {
		return nil, err
	}
	var out []Item
	seen := map[string]int{}
	for _, b := range blocks {
		cal, err := ical.NewDecoder(bytes.NewReader(b.body)).Decode()
		if err != nil {
			return nil, &ParseError{file, b.line, "invalid iCalendar: " + err.Error()}
		}
		groups := map[string][]*ical.Component{}
		var order []string
		var zones []*ical.Component
		for i, c := range cal.Children {
			line := b.line
			if i < len(b.kids) {
				line = b.kids[i]
			}
			switch c.Name {
			case ical.CompTimezone:
				zones = append(zones, c)
				continue
			case ical.CompEvent, ical.CompToDo, ical.CompJournal:
			default:
				continue // VFREEBUSY, X- components: kept inside a single-UID body, not objects of their own
			}
			uid, _ := c.Props.Text(ical.PropUID)
			if uid == "" {
				return nil, &ParseError{file, line, c.Name + " has no UID"}
			}
			if _, ok := groups[uid]; !ok {
				if l, dup := seen[uid]; dup {
					return nil, &ParseError{file, line, fmt.Sprintf("UID %q appears in two calendars (also at line %d)", uid, l)}
				}
				seen[uid] = line
				order = append(order, uid)
			}
			groups[uid] = append(groups[uid], c)
		}
		if len(order) == 0 {
			return nil, &ParseError{file, b.line, "VCALENDAR holds no VEVENT, VTODO or VJOURNAL"}
		}
		for _, uid := range order {
			body := b.body
			if len(order) > 1 {
				one := ical.NewCalendar()
				for k, v := range cal.Props {
					one.Props[k] = v
				}
				one.Children = append(append([]*ical.Component{}, zones...), groups[uid]...)
				var buf bytes.Buffer
				if err := ical.NewEncoder(&buf).Encode(one); err != nil {
					return nil, &ParseError{file, seen[uid], "cannot re-encode the event: " + err.Error()}
				}
				body = buf.Bytes()
			}
			// Validated as a CalDAV PUT validates (RFC 4791 §4.1), so an
			// import never stores what a client could not have.
			obj, err := calendar.Parse(body, time.UTC)
			if err == nil {
				err = obj.CheckDates()
			}
			if err != nil {
				return nil, &ParseError{file, seen[uid], fmt.Sprintf("calendar object %q: %v", uid, err)}
			}
			if obj.Body != nil {
				body = obj.Body // completed (VERSION, PRODID) as a PUT stores it
			}
			start, end := obj.SpanUnix()
			out = append(out, Item{Name: objectName(uid, ".ics"), UID: uid, Component: groups[uid][0].Name, Body: body,
				From: fmt.Sprintf("%s:%d", file, seen[uid]), Span: &storage.Span{Start: start, End: end}})
		}
	}
	return out, nil
}

// objectName makes an object name from a UID: the UID itself when it is a
// plain name, else a hash of it.
func objectName(uid, ext string) string {
	ok := len(uid) <= 200
	for _, r := range uid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@+", r)) {
			ok = false
			break
		}
	}
	if ok && storage.ValidateName("object", uid+ext) == nil {
		return uid + ext
	}
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:12]) + ext
}
