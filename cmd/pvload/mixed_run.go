// The mixed scenario's prefill and its timed run: accounts are filled in
// parallel, then every client loops over sync cycles until the duration is
// over.

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// mixedBooks are one account's collections after the prefill.
type mixedBooks struct {
	book, cal string
}

// prefillAccount writes contacts 0..Contacts-1 into the account's address
// book and events 0..Events-1 into a calendar of its own; what is already
// there (a second run on the same data) is kept.
func prefillAccount(ctx context.Context, cfg mixedConfig, a mixedAccount) (mixedBooks, error) {
	var mb mixedBooks
	c, err := newDAVClient(cfg.URL, a.Name, a.Password, 1, cfg.RequestTimeout)
	if err != nil {
		return mb, err
	}
	defer c.close()
	if mb.book, err = discoverBook(ctx, c); err != nil {
		return mb, fmt.Errorf("%s: discovery: %w", a.Name, err)
	}
	home, err := discoverCalendarHome(ctx, c)
	if err != nil {
		return mb, fmt.Errorf("%s: discovery: %w", a.Name, err)
	}
	mb.cal = home + fmt.Sprintf("pvload-mixed-%d/", cfg.Seed)
	if _, err := c.do(ctx, "MKCALENDAR", mb.cal, map[string]string{"Content-Type": xmlCT},
		[]byte(`<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>pvload mixed</D:displayname></D:prop></D:set></C:mkcalendar>`),
		http.StatusCreated, http.StatusMethodNotAllowed); err != nil {
		return mb, fmt.Errorf("%s: %w", a.Name, err)
	}
	gen := newContactGen(cfg.Seed, "x")
	hdr := map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}
	for i := 0; i < cfg.Contacts; i++ {
		_, body := gen.card(i, 0)
		if _, err := c.do(ctx, "PUT", mb.book+gen.name(i), hdr, body, http.StatusCreated, http.StatusPreconditionFailed); err != nil {
			return mb, fmt.Errorf("%s: %w", a.Name, err)
		}
	}
	hdr["Content-Type"] = "text/calendar; charset=utf-8"
	for i := 0; i < cfg.Events; i++ {
		ev := genEvent(cfg.Seed, i)
		if _, err := c.do(ctx, "PUT", mb.cal+ev.uid+".ics", hdr, ev.body, http.StatusCreated, http.StatusPreconditionFailed); err != nil {
			return mb, fmt.Errorf("%s: %w", a.Name, err)
		}
	}
	return mb, nil
}

// mixed prefills the accounts, then runs the clients for the duration.
func mixed(ctx context.Context, cfg mixedConfig, logf func(string, ...any)) (*mixedResult, error) {
	logf("prefill: %d accounts with %d contacts and %d events each", len(cfg.Accounts), cfg.Contacts, cfg.Events)
	books := make([]mixedBooks, len(cfg.Accounts))
	errs := make([]error, len(cfg.Accounts))
	var next sync.Mutex
	k := 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < min(8, len(cfg.Accounts)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := k
				k++
				next.Unlock()
				if i >= len(cfg.Accounts) {
					return
				}
				books[i], errs[i] = prefillAccount(ctx, cfg, cfg.Accounts[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	logf("prefill done in %.1f s", time.Since(start).Seconds())
	res0 := &mixedResult{}
	sample := func(after string) error {
		if cfg.PID <= 0 {
			return nil
		}
		m, err := readProcMemory(cfg.PID)
		if err != nil {
			return err
		}
		m.After = after
		res0.Memory = append(res0.Memory, m)
		return nil
	}
	if err := sample("prefill"); err != nil {
		return nil, err
	}

	calWant := 0
	for i := 0; i < cfg.Events; i++ {
		if genEvent(cfg.Seed, i).inMonth() > 0 {
			calWant++
		}
	}
	filter := `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="` + monthStart.Format(icsUTC) +
		`" end="` + monthEnd.Format(icsUTC) + `"/></C:comp-filter></C:comp-filter></C:filter>`
	calQuery := []byte(`<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>` + filter + `</C:calendar-query>`)

	st := newMixedStats()
	clients := make([]*mixedClient, cfg.Clients)
	runNonce := time.Now().Unix()
	for n := range clients {
		acct, slot, sharers := clientAccount(n, cfg.Clients, len(cfg.Accounts))
		a := cfg.Accounts[acct]
		c, err := newDAVClient(cfg.URL, a.Name, a.Password, 1, cfg.RequestTimeout)
		if err != nil {
			return nil, err
		}
		defer c.close()
		m := &mixedClient{c: c, st: st, book: books[acct].book, cal: books[acct].cal, calQuery: calQuery, calWant: calWant,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(n))), prefill: newContactGen(cfg.Seed, "x"), revs: map[int]int{},
			newGen: newContactGen(cfg.Seed, fmt.Sprintf("r%xc%d", runNonce, n)), addRevs: map[int]int{}}
		for i := slot; i < cfg.Contacts; i += sharers {
			m.own = append(m.own, i)
		}
		if m.token, err = syncTokenOf(ctx, c, m.book); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		clients[n] = m
	}
	logf("run: %d clients for %s", cfg.Clients, cfg.Duration)
	cpu0, err := procCPU(cfg.PID)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	end := start.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(cfg.RequestTimeout))
	defer cancel()
	var cycles sync.Mutex
	ncycles := 0
	for _, m := range clients {
		m.end = end
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && runCtx.Err() == nil {
				err := m.cycle(runCtx)
				switch {
				case errors.Is(err, errRunOver):
					return
				case err != nil:
					st.fail(err)
					continue
				}
				cycles.Lock()
				ncycles++
				cycles.Unlock()
				if cfg.Pause > 0 {
					select {
					case <-runCtx.Done():
					case <-time.After(min(cfg.Pause, time.Until(end))):
					}
				}
			}
		}()
	}
	wg.Wait()
	res := st.result(time.Since(start), ncycles)
	res.URL, res.Clients, res.Accounts, res.Contacts, res.Events = cfg.URL, cfg.Clients, len(cfg.Accounts), cfg.Contacts, cfg.Events
	res.Pause = cfg.Pause.String()
	cpu1, err := procCPU(cfg.PID)
	if err != nil {
		return res, err
	}
	if cfg.PID > 0 && res.Requests > 0 {
		res.ServerCPUMillis = float64(cpu1-cpu0) / float64(time.Millisecond) / float64(res.Requests)
	}
	res.Memory = res0.Memory
	if err := sample("run"); err != nil {
		return res, err
	}
	res.Memory = res0.Memory
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}
