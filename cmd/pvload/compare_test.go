package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeReport writes a pvload-shaped JSON report with the given figures.
func writeReport(t *testing.T, dir, name string, putRate, p99, hwm float64) string {
	t.Helper()
	rep := map[string]any{
		"url":      "http://127.0.0.1:1",
		"requests": 1000, // a count: not compared
		"put": map[string]any{
			"contacts": 1000, "puts_per_second": putRate,
			"latency_ms": map[string]any{"n": 1000, "p50": p99 / 4, "p90": 1, "p99": p99, "max": 99},
		},
		"sync": map[string]any{"sizes": []any{
			map[string]any{"size": 1000, "latency_ms": map[string]any{"p50": 2.0, "p99": 3.0}},
			map[string]any{"size": 10000, "latency_ms": map[string]any{"p50": 20.0, "p99": 30.0}},
		}},
		"kinds_ms": map[string]any{"propfind": map[string]any{"p50": 1.0, "p99": p99}},
		"memory": []any{
			map[string]any{"after": "put", "vm_hwm_kib": 1.0},
			map[string]any{"after": "end", "vm_hwm_kib": hwm},
		},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareFindsRegressionsByDirection(t *testing.T) {
	dir := t.TempDir()
	base := []string{
		writeReport(t, dir, "b1.json", 2000, 10, 50000),
		writeReport(t, dir, "b2.json", 1800, 12, 52000),
		writeReport(t, dir, "b3.json", 2200, 11, 51000),
	}
	// Head: the PUT rate fell by half (median 1000 against 2000), p99 got
	// better, memory is within the tolerance.
	head := []string{
		writeReport(t, dir, "h1.json", 1000, 8, 55000),
		writeReport(t, dir, "h2.json", 900, 9, 56000),
		writeReport(t, dir, "h3.json", 5000, 7, 54000),
	}
	var out, errb bytes.Buffer
	code := runCompare([]string{"--base", strings.Join(base, ","), "--head", strings.Join(head, ","), "--json"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a regression); stderr %s", code, errb.String())
	}
	var res struct {
		Figures     []comparison `json:"figures"`
		Regressions []string     `json:"regressions"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]comparison{}
	for _, c := range res.Figures {
		got[c.Path] = c
	}
	if _, ok := got["requests"]; ok {
		t.Error("a count was compared")
	}
	if _, ok := got["put.latency_ms.max"]; ok {
		t.Error("max latency was compared; only p50 and p99 are")
	}
	rate := got["put.puts_per_second"]
	if rate.Base != 2000 || rate.Head != 1000 || rate.WorsePct != 50 || !rate.Regression {
		t.Errorf("put rate: %+v, want base 2000 head 1000 worse 50%% regression", rate)
	}
	if p := got["put.latency_ms.p99"]; p.Base != 11 || p.Head != 8 || p.WorsePct >= 0 || p.Regression {
		t.Errorf("p99: %+v, want better (negative worse)", p)
	}
	if m := got["memory.last.vm_hwm_kib"]; m.Base != 51000 || m.Head != 55000 || m.Regression {
		t.Errorf("memory: %+v, want the last sample's medians and no regression", m)
	}
	if p := got["kinds_ms.propfind.p99"]; p.Base != 11 || p.Regression {
		t.Errorf("per-kind latency: %+v", p)
	}
	if _, ok := got["sync.sizes.size10000.latency_ms.p50"]; !ok {
		t.Errorf("sync sizes not keyed by size: %v", res.Figures)
	}
	if len(res.Regressions) != 1 || res.Regressions[0] != "put.puts_per_second" {
		t.Errorf("regressions %v, want only the PUT rate", res.Regressions)
	}

	// Gated on the steady figures only, the PUT rate no longer fails the
	// check but is still shown.
	out.Reset()
	errb.Reset()
	if code := runCompare([]string{"--base", strings.Join(base, ","), "--head", strings.Join(head, ","), "--gate", "steady"}, &out, &errb); code != 0 {
		t.Fatalf("--gate steady: exit %d; %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "(not gated)") {
		t.Errorf("--gate steady: the rate is not marked as not gated:\n%s", out.String())
	}

	// The same runs on both sides: no regression, exit 0.
	out.Reset()
	errb.Reset()
	if code := runCompare([]string{"--base", strings.Join(base, ","), "--head", strings.Join(base, ",")}, &out, &errb); code != 0 {
		t.Fatalf("same runs: exit %d; %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "put.puts_per_second") {
		t.Errorf("text table lacks the PUT rate:\n%s", out.String())
	}
}

func TestCompareRefusesWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	good := writeReport(t, dir, "good.json", 1, 1, 1)
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("[1,2"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte(`{"url":"x","requests":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--base", good}, "usage"},
		{[]string{"--base", bad, "--head", good}, "not a pvload JSON report"},
		{[]string{"--base", good, "--head", empty}, "no figures"},
		{[]string{"--base", good, "--head", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"--base", good, "--head", good, "--tolerance", "-1"}, "usage"},
		{[]string{"--base", good, "--head", good, "--gate", "some"}, "usage"},
	} {
		var out, errb bytes.Buffer
		if code := runCompare(tc.args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errb.String(), tc.want)
		}
	}
}

func FuzzCompareReport(f *testing.F) {
	f.Add([]byte(`{"put":{"puts_per_second":10,"latency_ms":{"p50":1,"p99":2}},"memory":[{"vm_hwm_kib":3}]}`))
	f.Add([]byte(`{"sizes":[{"size":1e300,"latency_ms":{"p99":-1}}],"memory":[]}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "r.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		figs, err := readFigures(p)
		if err != nil {
			return
		}
		for k := range figs {
			if direction(k) == ignored {
				t.Fatalf("undirected figure %q kept", k)
			}
		}
		cs := compareSides([]map[string]float64{figs}, []map[string]float64{figs}, 0, false)
		for _, c := range cs {
			if c.Regression {
				t.Fatalf("a report compared with itself regressed: %+v", c)
			}
		}
	})
}
