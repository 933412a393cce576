package transfer

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CollectionData is one collection to import.
type CollectionData struct {
	Name  string
	Kind  string
	Props map[string][]byte // DAV property (Clark notation) → escaped XML text
	Items []Item
	From  string
}

// Source is everything an import would write, validated.
type Source struct {
	Collections []CollectionData
	Skipped     []string // what was read but not imported, and why
}

// maxFileSize bounds one input file.
const maxFileSize = 64 << 20

// Load reads and validates path: a .vcf or .ics file (into the collection
// named collection, default "contacts" or "calendar"), a pimvault export
// (.zip), or a Radicale storage folder (its collection-root, a user's folder
// under it, or one collection). Every error found is returned, each naming
// its file and line; with any error the Source must not be imported.
func Load(path, collection string) (*Source, []error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, []error{err}
	}
	if st.IsDir() {
		return loadRadicale(path)
	}
	if st.Size() > maxFileSize {
		return nil, []error{&ParseError{File: path, Msg: fmt.Sprintf("file of %d bytes is over the %d byte limit", st.Size(), maxFileSize)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	return LoadBytes(path, collection, data)
}

// LoadBytes reads and validates one file's contents: a .vcf or .ics file
// (into the collection named collection, default "contacts" or "calendar")
// or a pimvault export (.zip), as Load does for a file; name (its
// extension) says which, and errors name it.
func LoadBytes(path, collection string, data []byte) (*Source, []error) {
	if len(data) > maxFileSize {
		return nil, []error{&ParseError{File: path, Msg: fmt.Sprintf("file of %d bytes is over the %d byte limit", len(data), maxFileSize)}}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".vcf", ".vcard":
		items, err := ParseVCards(path, data)
		if err != nil {
			return nil, []error{err}
		}
		return single(collection, "contacts", KindAddressBook, path, items), nil
	case ".ics", ".ical":
		items, err := ParseCalendar(path, data)
		if err != nil {
			return nil, []error{err}
		}
		return single(collection, "calendar", KindCalendar, path, items), nil
	case ".zip":
		return loadExport(path, data)
	}
	return nil, []error{&ParseError{File: path, Msg: "not a .vcf, .ics, pimvault export (.zip) or Radicale folder"}}
}

func single(collection, def, kind, path string, items []Item) *Source {
	if collection == "" {
		collection = def
	}
	return &Source{Collections: []CollectionData{{Name: collection, Kind: kind, Props: map[string][]byte{}, Items: items, From: path}}}
}

// Radicale's property names (its .Radicale.props keys) and the DAV names
// pimvault stores them under.
var radicaleProps = map[string]string{
	"D:displayname":                      "{DAV:}displayname",
	"C:calendar-description":             "{urn:ietf:params:xml:ns:caldav}calendar-description",
	"CR:addressbook-description":         "{urn:ietf:params:xml:ns:carddav}addressbook-description",
	"ICAL:calendar-color":                "{http://apple.com/ns/ical/}calendar-color",
	"ICAL:calendar-order":                "{http://apple.com/ns/ical/}calendar-order",
	"C:calendar-timezone":                "{urn:ietf:params:xml:ns:caldav}calendar-timezone",
	"tag":                                "",
	"C:supported-calendar-component-set": "",
}

// loadRadicale reads a Radicale filesystem storage folder.
func loadRadicale(dir string) (*Source, []error) {
	if root := filepath.Join(dir, "collection-root"); isDir(root) {
		return nil, []error{fmt.Errorf("%s is a whole Radicale storage folder: give the user's folder %s/<user>", dir, root)}
	}
	var cols []string
	if isFile(filepath.Join(dir, ".Radicale.props")) {
		cols = []string{dir}
	} else {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, []error{err}
		}
		for _, e := range ents {
			if e.IsDir() && isFile(filepath.Join(dir, e.Name(), ".Radicale.props")) {
				cols = append(cols, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(cols) == 0 {
		return nil, []error{fmt.Errorf("%s holds no Radicale collection (no .Radicale.props)", dir)}
	}
	src := &Source{}
	var errs []error
	for _, c := range cols {
		cd, skipped, cerrs := loadRadicaleCollection(c)
		errs = append(errs, cerrs...)
		src.Skipped = append(src.Skipped, skipped...)
		if cd != nil {
			src.Collections = append(src.Collections, *cd)
		}
	}
	return src, errs
}

func loadRadicaleCollection(dir string) (*CollectionData, []string, []error) {
	propsFile := filepath.Join(dir, ".Radicale.props")
	b, err := os.ReadFile(propsFile)
	if err != nil {
		return nil, nil, []error{err}
	}
	var props map[string]string
	if err := json.Unmarshal(b, &props); err != nil {
		return nil, nil, []error{&ParseError{File: propsFile, Msg: "not valid JSON: " + err.Error()}}
	}
	cd := &CollectionData{Name: filepath.Base(dir), Props: map[string][]byte{}, From: dir}
	var skipped []string
	switch props["tag"] {
	case "VADDRESSBOOK":
		cd.Kind = KindAddressBook
	case "VCALENDAR":
		cd.Kind = KindCalendar
	default:
		return nil, []string{dir + ": not an address book or calendar (tag " + props["tag"] + ")"}, nil
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		dav, known := radicaleProps[k]
		switch {
		case !known:
			skipped = append(skipped, fmt.Sprintf("%s: property %s not imported", propsFile, k))
		case dav != "":
			cd.Props[dav] = []byte(html.EscapeString(props[k]))
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, []error{err}
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue // .Radicale.props, .Radicale.cache/, .Radicale.lock, .Radicale.tmp-*
		}
		path := filepath.Join(dir, name)
		data, err := readBounded(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var items []Item
		if cd.Kind == KindAddressBook {
			items, err = ParseVCards(path, data)
		} else {
			items, err = ParseCalendar(path, data)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(items) == 1 {
			items[0].Name = name // keep Radicale's href
		}
		cd.Items = append(cd.Items, items...)
	}
	if err := checkDuplicateUIDs(cd); err != nil {
		errs = append(errs, err)
	}
	return cd, skipped, errs
}

func checkDuplicateUIDs(cd *CollectionData) error {
	seen := map[string]string{}
	for _, it := range cd.Items {
		if other, ok := seen[it.UID]; ok {
			return &ParseError{File: it.From, Msg: fmt.Sprintf("UID %q also in %s", it.UID, other)}
		}
		seen[it.UID] = it.From
	}
	return nil
}

func readBounded(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, &ParseError{File: path, Msg: "file over the size limit"}
	}
	return os.ReadFile(path)
}

func isDir(p string) bool  { st, err := os.Stat(p); return err == nil && st.IsDir() }
func isFile(p string) bool { st, err := os.Stat(p); return err == nil && st.Mode().IsRegular() }
