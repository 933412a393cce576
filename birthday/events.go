package birthday

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// Event is one generated calendar object.
type Event struct {
	Name string // object name in the birthday calendar
	UID  string
	Body []byte
}

// Kinds of events, by the vCard property they come from.
var kinds = []struct {
	prefix string
	props  []string
	what   string
}{
	{"bday", []string{vcard.FieldBirthday}, "birthday"},
	{"anniversary", []string{vcard.FieldAnniversary, "X-ANNIVERSARY"}, "anniversary"},
}

// Names returns the object names the events of card uid in collection have
// (whether or not the card has those dates), for deleting them.
func Names(collection, uid string) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, name(k.prefix, collection, uid)+".ics")
	}
	return out
}

func name(prefix, collection, uid string) string {
	h := sha256.Sum256([]byte(collection + "\x00" + uid))
	return prefix + "-" + hex.EncodeToString(h[:12])
}

// Events returns the yearly events of a vCard (already validated) from
// address book collection: at most one per kind, none for a card without
// usable dates.
func Events(collection string, body []byte) ([]Event, error) {
	card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		return nil, err
	}
	uid := card.Value(vcard.FieldUID)
	fn := strings.TrimSpace(card.PreferredValue(vcard.FieldFormattedName))
	if fn == "" {
		fn = "(no name)"
	}
	var out []Event
	for _, k := range kinds {
		var f *vcard.Field
		for _, p := range k.props {
			if f = card.Get(p); f != nil {
				break
			}
		}
		if f == nil {
			continue
		}
		year, month, day, ok := parseDate(f)
		if !ok {
			continue
		}
		n := name(k.prefix, collection, uid)
		out = append(out, Event{Name: n + ".ics", UID: n, Body: eventBody(n, fn, k.what, year, month, day)})
	}
	return out, nil
}

// parseDate reads a date-and-or-time value: year 0 when unknown.
func parseDate(f *vcard.Field) (year, month, day int, ok bool) {
	if strings.EqualFold(f.Params.Get(vcard.ParamValue), "text") {
		return 0, 0, 0, false
	}
	v := strings.TrimSpace(f.Value)
	if i := strings.IndexByte(v, 'T'); i >= 0 {
		v = v[:i]
	}
	noYear := strings.HasPrefix(v, "--")
	v = strings.ReplaceAll(v, "-", "")
	switch {
	case noYear && len(v) == 4:
		v = "0000" + v
	case len(v) != 8:
		return 0, 0, 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, 0, 0, false
	}
	year, month, day = n/10000, n/100%100, n%100
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return 0, 0, 0, false
	}
	// Day valid in a leap year (29 February is allowed without a year).
	if time.Date(2000, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return 0, 0, 0, false
	}
	if f.Params.Get("X-APPLE-OMIT-YEAR") != "" || year < 1900 || year > 9998 {
		year = 0
	}
	if year != 0 && month == 2 && day == 29 && time.Date(year, 3, 0, 0, 0, 0, 0, time.UTC).Day() != 29 {
		year = 0
	}
	return year, month, day, true
}

// eventBody is the calendar object of one yearly all-day event.
func eventBody(uid, fn, what string, year, month, day int) []byte {
	start := year
	if start == 0 {
		start = 1972 // a leap year, so 29 February exists
	}
	d := time.Date(start, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	rule := "FREQ=YEARLY"
	if month == 2 && day == 29 {
		rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(fold(s) + "\r\n") }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//pimvault//birthdays//EN")
	line("BEGIN:VEVENT")
	line("UID:" + uid)
	line("DTSTAMP:19700101T000000Z")
	line("DTSTART;VALUE=DATE:" + d.Format("20060102"))
	line("DTEND;VALUE=DATE:" + d.AddDate(0, 0, 1).Format("20060102"))
	line("RRULE:" + rule)
	line("SUMMARY:" + escape(fn) + " (" + what + ")")
	if year != 0 {
		line(fmt.Sprintf("DESCRIPTION:%s %d", map[string]string{"birthday": "Born", "anniversary": "Since"}[what], year))
	}
	line("TRANSP:TRANSPARENT")
	line("END:VEVENT")
	line("END:VCALENDAR")
	return []byte(b.String())
}

// escape is RFC 5545 §3.3.11 TEXT escaping, with the characters a
// calendar object may not hold (controls, U+FFFE, U+FFFF, bad UTF-8) left
// out.
func escape(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f || r == 0xfffe || r == 0xffff || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), ""))
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`)
	return r.Replace(s)
}

// fold folds a content line at 75 octets without splitting a UTF-8 character.
func fold(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		l := len(string(r))
		if n+l > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += l
	}
	return b.String()
}
