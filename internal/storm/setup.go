package storm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SetupConfig prepares the accounts of a storm.
type SetupConfig struct {
	URL      string
	Accounts []Account // Name and Password; Book and Token are filled in
	Before   int       // contacts before the token phones hold
	After    int       // contacts added after it
	Workers  int
}

var tokenRe = regexp.MustCompile(`<[^>]*sync-token[^>]*>([^<]+)</`)

// Setup writes Before contacts into each account's default address book
// ("contacts"), reads the sync-token, then writes After more. It returns
// the accounts with Book and Token set.
func Setup(ctx context.Context, cfg SetupConfig) ([]Account, error) {
	if err := CheckLoopback(cfg.URL); err != nil {
		return nil, err
	}
	workers := max(cfg.Workers, 1)
	out := make([]Account, len(cfg.Accounts))
	errs := make(chan error, len(cfg.Accounts))
	jobs := make(chan int)
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 2 * time.Minute}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				a, err := setupAccount(ctx, hc, cfg, cfg.Accounts[i])
				if err != nil {
					errs <- err
					continue
				}
				out[i] = a
			}
		}()
	}
	for i := range cfg.Accounts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

func setupAccount(ctx context.Context, hc *http.Client, cfg SetupConfig, a Account) (Account, error) {
	a.Book = "/dav/addressbooks/" + a.Name + "/contacts/"
	send := func(method, path, body string, hdr map[string]string, want int) (string, error) {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, method, cfg.URL+path, strings.NewReader(body))
			if err != nil {
				return "", err
			}
			req.SetBasicAuth(a.Name, a.Password)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return "", err
			}
			var sb strings.Builder
			_, err = sbCopy(&sb, resp)
			if resp.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
				time.Sleep(time.Second) // setup is not the storm: just try again
				continue
			}
			if resp.StatusCode != want || err != nil {
				return "", fmt.Errorf("setup %s: %s %s: %d %v %.200s", a.Name, method, path, resp.StatusCode, err, sb.String())
			}
			return sb.String(), nil
		}
	}
	put := func(i int) error {
		uid := fmt.Sprintf("%s-%04d", a.Name, i)
		body := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Person %d of %s\r\nN:%d;Person;;;\r\nTEL:+1555%07d\r\nEND:VCARD\r\n", uid, i, a.Name, i, i)
		_, err := send("PUT", a.Book+uid+".vcf", body, map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}, http.StatusCreated)
		return err
	}
	for i := 0; i < cfg.Before; i++ {
		if err := put(i); err != nil {
			return a, err
		}
	}
	ms, err := send("PROPFIND", a.Book, `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>`,
		map[string]string{"Depth": "0", "Content-Type": "application/xml"}, http.StatusMultiStatus)
	if err != nil {
		return a, err
	}
	m := tokenRe.FindStringSubmatch(ms)
	if m == nil {
		return a, fmt.Errorf("setup %s: no sync-token in %.300s", a.Name, ms)
	}
	a.Token = strings.TrimSpace(m[1])
	for i := cfg.Before; i < cfg.Before+cfg.After; i++ {
		if err := put(i); err != nil {
			return a, err
		}
	}
	return a, nil
}

func sbCopy(sb *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(sb, resp.Body)
}

// WriteText prints the report.
func (r *Report) WriteText(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, "storm      %d clients: %d finished in %v (client p50 %v, p99 %v)\n", r.Clients, r.Finished,
		r.Took.Round(time.Millisecond), r.ClientP50.Round(time.Millisecond), r.ClientP99.Round(time.Millisecond))
	fmt.Fprintf(w, "           longest wait for an answer %v; retries %d; statuses %v\n", r.MaxWait.Round(time.Millisecond), r.Retries, r.Statuses)
	if r.VmHWMKiB > 0 || r.PeakFDs > 0 {
		fmt.Fprintf(w, "           server VmHWM %.1f MiB, open descriptors peak %d\n", float64(r.VmHWMKiB)/1024, r.PeakFDs)
	}
	fmt.Fprintf(w, "           violations %d\n", r.ViolationCount)
	for _, v := range r.Violations {
		fmt.Fprintf(w, "             %s\n", v)
	}
}
