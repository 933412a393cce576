package transfer

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// An export is a zip file:
//
//	pimvault-export.json             manifest: format, user, time, collections (name, kind, properties, objects)
//	<collection>.vcf | .ics          the whole collection in one file, for other programs
//	<collection>/<object name>       each object byte for byte, for a faithful re-import
const (
	manifestName   = "pimvault-export.json"
	manifestFormat = 1
	maxExportEntry = 64 << 20
)

type manifest struct {
	Format      int                  `json:"format"`
	User        string               `json:"user"`
	Exported    time.Time            `json:"exported"`
	Collections []manifestCollection `json:"collections"`
}

type manifestCollection struct {
	Name    string            `json:"name"`
	Kind    string            `json:"kind"`
	Props   map[string]string `json:"props"`
	Objects []string          `json:"objects"`
}

// ExportReport says what an export wrote.
type ExportReport struct {
	Collections int
	Objects     int
}

// Export writes every collection of user to w as a zip (see above).
func Export(s *storage.Store, user string, w io.Writer) (*ExportReport, error) {
	cols, err := s.Collections(user)
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	m := manifest{Format: manifestFormat, User: user, Exported: time.Now().UTC()}
	rep := &ExportReport{}
	for _, c := range cols {
		mc := manifestCollection{Name: c.Name, Kind: c.Kind, Props: map[string]string{}}
		for k, v := range c.Props {
			mc.Props[k] = string(v)
		}
		ext := ".vcf"
		if c.Kind == KindCalendar {
			ext = ".ics"
		}
		var all bytes.Buffer
		err := s.Objects(user, c.Name, true, func(o storage.Object) error {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: c.Name + "/" + o.Name, Method: zip.Deflate, Modified: time.Unix(0, o.Time)})
			if err != nil {
				return err
			}
			if _, err := f.Write(o.Body); err != nil {
				return err
			}
			all.Write(o.Body)
			mc.Objects = append(mc.Objects, o.Name)
			rep.Objects++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", c.Name, err)
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: c.Name + ext, Method: zip.Deflate, Modified: m.Exported})
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(all.Bytes()); err != nil {
			return nil, err
		}
		m.Collections = append(m.Collections, mc)
		rep.Collections++
	}
	f, err := zw.CreateHeader(&zip.FileHeader{Name: manifestName, Method: zip.Deflate, Modified: m.Exported})
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return rep, zw.Close()
}

// loadExport reads and validates a pimvault export.
func loadExport(file string, data []byte) (*Source, []error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, []error{&ParseError{File: file, Msg: "not a zip file: " + err.Error()}}
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := entries[name]
		if !ok {
			return nil, &ParseError{File: file, Msg: "missing " + name}
		}
		if f.UncompressedSize64 > maxExportEntry {
			return nil, &ParseError{File: file + "/" + name, Msg: "entry over the size limit"}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &ParseError{File: file + "/" + name, Msg: err.Error()}
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxExportEntry+1))
		if err != nil {
			return nil, &ParseError{File: file + "/" + name, Msg: err.Error()}
		}
		return b, nil
	}
	mb, err := read(manifestName)
	if err != nil {
		return nil, []error{fmt.Errorf("%s is not a pimvault export: %w", file, err)}
	}
	var m manifest
	if err := json.Unmarshal(mb, &m); err != nil || m.Format != manifestFormat {
		return nil, []error{&ParseError{File: file + "/" + manifestName, Msg: fmt.Sprintf("bad manifest (format %d): %v", m.Format, err)}}
	}
	src := &Source{}
	var errs []error
	for _, mc := range m.Collections {
		if mc.Kind != KindAddressBook && mc.Kind != KindCalendar {
			src.Skipped = append(src.Skipped, fmt.Sprintf("%s: collection %s of kind %q not imported", file, mc.Name, mc.Kind))
			continue
		}
		cd := CollectionData{Name: mc.Name, Kind: mc.Kind, Props: map[string][]byte{}, From: file + "/" + mc.Name}
		for k, v := range mc.Props {
			cd.Props[k] = []byte(v)
		}
		sort.Strings(mc.Objects)
		for _, name := range mc.Objects {
			entry := path.Join(mc.Name, name)
			if strings.Contains(name, "/") || entry != mc.Name+"/"+name {
				errs = append(errs, &ParseError{File: file, Msg: fmt.Sprintf("object name %q not allowed", name)})
				continue
			}
			b, err := read(entry)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			var items []Item
			if mc.Kind == KindAddressBook {
				items, err = ParseVCards(file+"/"+entry, b)
			} else {
				items, err = ParseCalendar(file+"/"+entry, b)
			}
			if err == nil && len(items) != 1 {
				err = &ParseError{File: file + "/" + entry, Msg: fmt.Sprintf("holds %d objects, want 1", len(items))}
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			items[0].Name = name
			cd.Items = append(cd.Items, items[0])
		}
		if err := checkDuplicateUIDs(&cd); err != nil {
			errs = append(errs, err)
		}
		src.Collections = append(src.Collections, cd)
	}
	return src, errs
}
