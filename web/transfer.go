package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/transfer"
)

// maxImportFiles bounds the files one import takes.
const maxImportFiles = 20

type deviceRow struct {
	ID        string
	FirstSeen time.Time
	LastSeen  time.Time
	Reported  time.Time
	Waiting   bool // RECOVERING and this device has not reported yet
	// Label is the app password's the device signs in with; Revoked is
	// when that app password was revoked (the device is not waited for).
	Label   string
	Revoked time.Time
}

// devices lists the pimvault devices that synced this account, the
// account's recovery state and its app passwords (apppassword.go).
func (p *Pages) devices(x *req) error {
	data, err := p.devicesView(x, "", "")
	if err != nil {
		return err
	}
	return p.show(x, http.StatusOK, "devices", view{Title: "Devices", Nav: "devices", Data: data})
}

func deviceRows(st storage.PrincipalState) []deviceRow {
	var rows []deviceRow
	for id, d := range st.Devices {
		rows = append(rows, deviceRow{ID: id, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Reported: d.Reported,
			Waiting: st.Recovery.Recovering && !d.ReportedFor(st.Recovery.Since) && d.CredentialRevoked.IsZero(),
			Label:   d.AppPasswordLabel, Revoked: d.CredentialRevoked})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].LastSeen.After(rows[j].LastSeen) })
	return rows
}

func (p *Pages) transferPage(x *req) error {
	cols, err := p.store.Collections(x.user)
	if err != nil {
		return err
	}
	var rows []colRow
	for _, c := range cols {
		rows = append(rows, rowOf(c))
	}
	return p.show(x, http.StatusOK, "transfer", view{Title: "Export and import", Nav: "transfer", Data: map[string]any{"Cols": rows}})
}

// export streams the account as a pimvault zip (transfer.Export, the
// export the CLI writes).
func (p *Pages) export(x *req) error {
	name := fmt.Sprintf("pimvault-%s-%s.zip", x.user, time.Now().UTC().Format("20060102-150405"))
	x.w.Header().Set("Content-Type", "application/zip")
	x.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if _, err := transfer.Export(p.store, x.user, x.w); err != nil {
		// The status line is gone; a broken zip tells the browser.
		p.log.Error("web export", "user", x.user, "err", err)
	}
	return nil
}

// importResult is what the import page shows.
type importResult struct {
	Errors []string // each naming its file and line
	Report *transfer.ImportReport
	Files  []string
}

// mergeInto adds the collections of one file to src, joining files that go
// into the same collection (so the import sees one collection with all
// their items, and counts it once).
func mergeInto(src, s *transfer.Source) error {
	src.Skipped = append(src.Skipped, s.Skipped...)
next:
	for _, cd := range s.Collections {
		for i := range src.Collections {
			have := &src.Collections[i]
			if have.Name != cd.Name {
				continue
			}
			if have.Kind != cd.Kind {
				return fmt.Errorf("%s: goes into %s with %s, but that file holds a %s and this one a %s", cd.From, cd.Name, have.From, have.Kind, cd.Kind)
			}
			have.Items = append(have.Items, cd.Items...)
			continue next
		}
		src.Collections = append(src.Collections, cd)
	}
	return nil
}

// importFiles validates every uploaded .vcf/.ics file with transfer's
// parsers and, only when all are valid, imports them (transfer.Import, the
// import the CLI runs).
func (p *Pages) importFiles(x *req) error {
	col := strings.TrimSpace(x.r.PostFormValue("collection"))
	if col != "" {
		if err := storage.ValidateName("collection", col); err != nil {
			return badRequest("collection: " + err.Error())
		}
	}
	var files []string
	var errs []string
	var src transfer.Source
	fhs := x.r.MultipartForm.File["files"]
	if len(fhs) == 0 {
		return badRequest("choose one or more .vcf or .ics files")
	}
	if len(fhs) > maxImportFiles {
		return badRequest(fmt.Sprintf("at most %d files at once", maxImportFiles))
	}
	for _, fh := range fhs {
		name := filepath.Base(fh.Filename)
		ext := strings.ToLower(filepath.Ext(name))
		if ext != ".vcf" && ext != ".vcard" && ext != ".ics" && ext != ".ical" {
			errs = append(errs, name+": not a .vcf or .ics file")
			continue
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxUploadBytes+1))
		f.Close()
		if err != nil {
			return err
		}
		files = append(files, name)
		s, lerrs := transfer.LoadBytes(name, col, data)
		for _, e := range lerrs {
			errs = append(errs, e.Error())
		}
		if s != nil && len(lerrs) == 0 {
			if err := mergeInto(&src, s); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	res := importResult{Errors: errs, Files: files}
	status := http.StatusOK
	if len(errs) == 0 {
		rep, err := transfer.Import(x.r.Context(), p.store, x.user, &src, false)
		if err != nil {
			var pe *transfer.ParseError
			if !errors.As(err, &pe) && statusOf(err) >= 500 {
				return err
			}
			res.Errors = append(res.Errors, err.Error())
		}
		res.Report = rep
	}
	if len(res.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	cols, err := p.store.Collections(x.user)
	if err != nil {
		return err
	}
	var rows []colRow
	for _, c := range cols {
		rows = append(rows, rowOf(c))
	}
	return p.show(x, status, "transfer", view{Title: "Export and import", Nav: "transfer", Data: map[string]any{"Cols": rows, "Result": res}})
}
