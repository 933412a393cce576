// pvload compare: the regression check between two builds. It reads the JSON
// reports of runs against a base build and against a head build (any
// scenario: the default ones, mixed, storm), picks the figures whose
// direction is known (rates up, latencies, CPU and memory down), takes the
// median of each side's runs and prints base, head and the change. A figure
// that got worse by more than the tolerance fails the check (exit 1), so a
// script can gate on it; run each side several times, interleaved, because
// a shared machine's noise alone moves latencies by tens of percent.

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// figureDir says whether a larger value of a figure is better.
type figureDir int

const (
	ignored figureDir = iota
	higherBetter
	lowerBetter
)

// direction classifies a flattened figure path ("put.latency_ms.p99").
// Counts, sizes and settings are ignored: they describe the run, not the
// server.
func direction(path string) figureDir {
	parts := strings.Split(path, ".")
	last := parts[len(parts)-1]
	// A latency summary sits under a name ending in _ms, directly
	// ("latency_ms.p99") or per request kind ("kinds_ms.propfind.p99").
	inLatency := false
	for _, p := range parts[:len(parts)-1] {
		inLatency = inLatency || strings.HasSuffix(p, "_ms")
	}
	switch {
	case strings.HasSuffix(last, "per_second"):
		return higherBetter
	case inLatency && (last == "p50" || last == "p99"):
		return lowerBetter
	case strings.Contains(last, "cpu_ms"), last == "median_seconds", last == "vm_hwm_kib":
		return lowerBetter
	}
	return ignored
}

// flatten walks a decoded JSON report and records every number under its
// dotted path. Array elements are named by their "size" field when they
// have one (the sync scenario's sizes), a memory array only by its last
// sample (the state after the run), other arrays by index.
func flatten(prefix string, v any, out map[string]float64) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case float64:
		out[prefix] = x
	case map[string]any:
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		if strings.HasSuffix(prefix, "memory") && len(x) > 0 {
			flatten(join("last"), x[len(x)-1], out)
			return
		}
		for i, e := range x {
			name := fmt.Sprint(i)
			if m, ok := e.(map[string]any); ok {
				if s, ok := m["size"].(float64); ok {
					name = fmt.Sprintf("size%d", int64(s))
				}
			}
			flatten(join(name), e, out)
		}
	}
}

// readFigures reads one pvload JSON report and returns its directed figures.
func readFigures(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: not a pvload JSON report: %w", path, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: not a pvload JSON report (no object at the top)", path)
	}
	all := map[string]float64{}
	flatten("", v, all)
	out := map[string]float64{}
	for k, x := range all {
		if direction(k) != ignored {
			out[k] = x
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no figures pvload compare knows (rates, latency percentiles, CPU, memory)", path)
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// steady says whether a figure holds when other processes share the cores:
// the server's CPU time per request and its memory do, latencies and rates
// do not (they measure the queue for the cores as much as the server).
func steady(path string) bool {
	last := path[strings.LastIndex(path, ".")+1:]
	return strings.Contains(last, "cpu_ms") || last == "vm_hwm_kib"
}

// comparison is one figure on both sides.
type comparison struct {
	Path       string  `json:"figure"`
	Base       float64 `json:"base"`
	Head       float64 `json:"head"`
	WorsePct   float64 `json:"worse_percent"` // negative when the head is better
	Regression bool    `json:"regression"`
	Gated      bool    `json:"gated"` // a regression of this figure fails the check
}

// compareSides takes the per-run figures of each side and compares the
// medians of the figures both sides have. worse is the change in the
// figure's bad direction, in percent of the base.
func compareSides(base, head []map[string]float64, tolerancePct float64, steadyOnly bool) []comparison {
	collect := func(runs []map[string]float64) map[string][]float64 {
		m := map[string][]float64{}
		for _, r := range runs {
			for k, x := range r {
				m[k] = append(m[k], x)
			}
		}
		return m
	}
	b, h := collect(base), collect(head)
	var out []comparison
	for k, bx := range b {
		hx, ok := h[k]
		if !ok {
			continue
		}
		c := comparison{Path: k, Base: median(bx), Head: median(hx)}
		switch {
		case c.Base == 0 && c.Head == 0:
		case c.Base == 0:
			// No ratio to a zero; JSON has no infinity either. A figure that
			// appears from nothing counts as a full step in its direction.
			c.WorsePct = 100
			if direction(k) == higherBetter {
				c.WorsePct = -100
			}
		case direction(k) == higherBetter:
			c.WorsePct = (c.Base - c.Head) / c.Base * 100
		default:
			c.WorsePct = (c.Head - c.Base) / c.Base * 100
		}
		c.Gated = !steadyOnly || steady(k)
		c.Regression = c.Gated && c.WorsePct > tolerancePct
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// runCompare is `pvload compare --base A.json[,B.json] --head C.json[,D.json]`.
func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pvload compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseList := fs.String("base", "", "comma-separated JSON reports of runs against the base build")
	headList := fs.String("head", "", "comma-separated JSON reports of runs against the head build")
	tol := fs.Float64("tolerance", 25, "percent a figure may get worse before the check fails")
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	gate := fs.String("gate", "all", "figures whose regression fails the check: all, or steady (server CPU per request and memory, which other load on the machine does not move)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pvload compare --base A.json[,B.json…] --head C.json[,D.json…] [--tolerance 25] [--gate all|steady] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *baseList == "" || *headList == "" || fs.NArg() > 0 || *tol < 0 || math.IsNaN(*tol) || (*gate != "all" && *gate != "steady") {
		fs.Usage()
		return 2
	}
	read := func(list string) ([]map[string]float64, error) {
		var runs []map[string]float64
		for _, p := range strings.Split(list, ",") {
			f, err := readFigures(strings.TrimSpace(p))
			if err != nil {
				return nil, err
			}
			runs = append(runs, f)
		}
		return runs, nil
	}
	base, err := read(*baseList)
	if err == nil {
		var head []map[string]float64
		if head, err = read(*headList); err == nil {
			return writeComparison(compareSides(base, head, *tol, *gate == "steady"), len(base), len(head), *tol, *asJSON, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "pvload compare: %v\n", err)
	return 2
}

func writeComparison(cs []comparison, nBase, nHead int, tol float64, asJSON bool, stdout, stderr io.Writer) int {
	if len(cs) == 0 {
		fmt.Fprintln(stderr, "pvload compare: the two sides share no figure (different scenarios?)")
		return 2
	}
	var worse []string
	for _, c := range cs {
		if c.Regression {
			worse = append(worse, c.Path)
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Tolerance   float64      `json:"tolerance_percent"`
			Figures     []comparison `json:"figures"`
			Regressions []string     `json:"regressions"`
		}{tol, cs, worse})
	} else {
		fmt.Fprintf(stdout, "medians of %d base and %d head runs; worse = change in the figure's bad direction\n", nBase, nHead)
		fmt.Fprintf(stdout, "%-48s %14s %14s %9s\n", "figure", "base", "head", "worse")
		for _, c := range cs {
			mark := ""
			switch {
			case c.Regression:
				mark = "  REGRESSION"
			case !c.Gated:
				mark = "  (not gated)"
			}
			fmt.Fprintf(stdout, "%-48s %14.3f %14.3f %8.1f%%%s\n", c.Path, c.Base, c.Head, c.WorsePct, mark)
		}
	}
	if len(worse) > 0 {
		fmt.Fprintf(stderr, "pvload compare: %d figure(s) worse by more than %.0f%%: %s\n", len(worse), tol, strings.Join(worse, ", "))
		return 1
	}
	fmt.Fprintf(stderr, "pvload compare: no figure worse by more than %.0f%%\n", tol)
	return 0
}
