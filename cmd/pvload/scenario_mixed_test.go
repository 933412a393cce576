package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientAccount: clients go over the accounts in turn, and the clients
// sharing an account split its contacts without overlap.
func TestClientAccount(t *testing.T) {
	for _, tc := range []struct{ clients, accounts int }{{32, 50}, {50, 50}, {7, 3}, {100, 7}, {1, 1}} {
		perAcct := map[int]int{}
		owned := map[[2]int]bool{}
		for k := 0; k < tc.clients; k++ {
			acct, slot, sharers := clientAccount(k, tc.clients, tc.accounts)
			if acct < 0 || acct >= tc.accounts || slot < 0 || slot >= sharers {
				t.Fatalf("%d/%d: client %d: account %d slot %d of %d", tc.clients, tc.accounts, k, acct, slot, sharers)
			}
			perAcct[acct]++
			for i := slot; i < 40; i += sharers {
				if owned[[2]int{acct, i}] {
					t.Fatalf("%d/%d: contact %d of account %d owned twice", tc.clients, tc.accounts, i, acct)
				}
				owned[[2]int{acct, i}] = true
			}
		}
		for acct, n := range perAcct {
			if _, _, sharers := clientAccount(acct, tc.clients, tc.accounts); sharers != n {
				t.Errorf("%d/%d: account %d has %d clients, sharers says %d", tc.clients, tc.accounts, acct, n, sharers)
			}
			for i := 0; i < 40; i++ {
				if !owned[[2]int{acct, i}] {
					t.Errorf("%d/%d: contact %d of account %d owned by nobody", tc.clients, tc.accounts, i, acct)
				}
			}
		}
		if want := min(tc.clients, tc.accounts); len(perAcct) != want {
			t.Errorf("%d/%d: %d accounts used, want %d", tc.clients, tc.accounts, len(perAcct), want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	h := func(v string) http.Header { return http.Header{"Retry-After": []string{v}} }
	for _, tc := range []struct {
		status int
		hdr    http.Header
		wait   time.Duration
		ok     bool
	}{
		{503, h("3"), 3 * time.Second, true},
		{429, h("0"), 0, true},
		{503, http.Header{}, 0, false},
		{503, h("Wed, 21 Oct 2015 07:28:00 GMT"), 0, false},
		{503, h("-1"), 0, false},
		{500, h("3"), 0, false},
	} {
		if wait, ok := retryAfter(tc.status, tc.hdr); wait != tc.wait || ok != tc.ok {
			t.Errorf("retryAfter(%d, %v) = %v, %v; want %v, %v", tc.status, tc.hdr, wait, ok, tc.wait, tc.ok)
		}
	}
}

// TestMixed runs the mixed load against an in-process server that sheds
// some PUTs with 503 + Retry-After (retries, not errors) and checks the
// report's counts add up; without Retry-After the same 503 is an error.
// Not parallel: server.New sets the DAV base path, a package variable.
func TestMixed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		wantErrors bool
	}{{"shed with Retry-After", "0", false}, {"shed without Retry-After", "", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var puts, shed atomic.Int64
			url := newTestServer(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == "PUT" && r.Header.Get("If-Match") != "" && puts.Add(1)%5 == 0 {
						shed.Add(1)
						if tc.retryAfter != "" {
							w.Header().Set("Retry-After", tc.retryAfter)
						}
						http.Error(w, "busy", http.StatusServiceUnavailable)
						return
					}
					h.ServeHTTP(w, r)
				})
			})
			cfg := mixedConfig{URL: url, Accounts: []mixedAccount{{Name: "u", Password: testPassword}}, Clients: 3,
				Duration: 1500 * time.Millisecond, Contacts: 20, Events: 30, Seed: 7, PID: os.Getpid(), RequestTimeout: 30 * time.Second}
			res, err := mixed(context.Background(), cfg, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			res.writeText(&b)
			t.Log(b.String())
			if got := int64(res.Statuses[503]); got != shed.Load() || got == 0 {
				t.Errorf("report counts %d answers 503, the server shed %d", got, shed.Load())
			}
			if tc.wantErrors {
				if res.Errors != int(shed.Load()) || res.Retries != 0 {
					t.Errorf("errors %d, retries %d; want %d errors, no retries", res.Errors, res.Retries, shed.Load())
				}
				return
			}
			if res.Errors != 0 || res.Retries != int(shed.Load()) {
				t.Fatalf("errors %d (%v), retries %d; want none, %d", res.Errors, res.ErrorSample, res.Retries, shed.Load())
			}
			sum := 0
			for _, k := range mixedKinds {
				sum += res.Kinds[k].N
			}
			if res.Cycles == 0 || sum != res.Overall.N || sum != res.Requests {
				t.Errorf("%d cycles, kinds sum to %d, overall %d, requests %d", res.Cycles, sum, res.Overall.N, res.Requests)
			}
			for _, k := range []string{"propfind", "sync", "calquery"} {
				if n := res.Kinds[k].N; n < res.Cycles {
					t.Errorf("%s: %d requests in %d cycles", k, n, res.Cycles)
				}
			}
			if res.Kinds["put-new"].N+res.Kinds["put-edit"].N < res.Cycles || res.Kinds["multiget"].N == 0 {
				t.Errorf("puts %d+%d, multigets %d in %d cycles", res.Kinds["put-new"].N, res.Kinds["put-edit"].N, res.Kinds["multiget"].N, res.Cycles)
			}
			if res.ServerCPUMillis <= 0 {
				t.Errorf("server CPU per request %.3f ms, want a positive figure (--pid is this process)", res.ServerCPUMillis)
			}
			if len(res.Memory) != 2 || res.Memory[1].After != "run" {
				t.Errorf("memory samples %+v, want after prefill and after the run", res.Memory)
			}
		})
	}
}
