package calendar

import (
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// benchCalendar builds n events over 2024-2025 in Europe/Berlin, one in ten weekly
// recurring (half unbounded, half COUNT=52) with an EXDATE and a moved override, the
// shape of the benchmark.
func benchCalendar(n int) []string {
	rng := rand.New(rand.NewSource(1))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		day := base.AddDate(0, 0, rng.Intn(730))
		start := fmt.Sprintf("%sT%02d%02d00", day.Format("20060102"), 7+rng.Intn(12), 15*rng.Intn(4))
		lines := []string{
			"DTSTART;TZID=Europe/Berlin:" + start, fmt.Sprintf("DURATION:PT%dM", 30*(1+rng.Intn(4))),
			fmt.Sprintf("SUMMARY:Event %d", i), "DESCRIPTION:" + strings.Repeat("details ", 10),
		}
		if i%10 == 0 {
			rule := "RRULE:FREQ=WEEKLY"
			if i%20 == 0 {
				rule += ";COUNT=52"
			}
			ex := day.AddDate(0, 0, 14).Format("20060102") + start[8:]
			moved := day.AddDate(0, 0, 21).Format("20060102") + start[8:]
			lines = append(lines, rule, "EXDATE;TZID=Europe/Berlin:"+ex, "--",
				"RECURRENCE-ID;TZID=Europe/Berlin:"+moved, "DTSTART;TZID=Europe/Berlin:"+day.AddDate(0, 0, 22).Format("20060102")+"T180000",
				"DURATION:PT1H", fmt.Sprintf("SUMMARY:Event %d (moved)", i))
		}
		out[i] = strings.Replace(event(lines...), "UID:r@example.com", fmt.Sprintf("UID:bench-%d@example.com", i), -1)
	}
	return out
}

func parseAll(b *testing.B, bodies []string) []*Object {
	objs := make([]*Object, len(bodies))
	for i, body := range bodies {
		o, err := Parse([]byte(body), nil)
		if err != nil {
			b.Fatal(err)
		}
		objs[i] = o
	}
	return objs
}

// cpuTime is the process's user+system CPU time: on a shared, loaded machine it measures
// the work better than the wall clock (reported as cpu-ns/op beside ns/op).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

var benchMonth = TimeRange{utc("20250601T000000Z"), utc("20250701T000000Z")}

// BenchmarkParse: one PUT's validation and span computation (mixed: 1 in 10 recurring).
func BenchmarkParse(b *testing.B) {
	bodies := benchCalendar(1000)
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		if _, err := Parse([]byte(bodies[i%len(bodies)]), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchMonth10k: a one-month VEVENT time-range query over 10,000 events. "all"
// tests every object; "span" only the candidates a span index returns (what the store does).
func BenchmarkMatchMonth10k(b *testing.B) {
	objs := parseAll(b, benchCalendar(10000))
	f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &benchMonth})
	for _, mode := range []string{"all", "span"} {
		var cands []*ical.Calendar
		for _, o := range objs {
			if mode == "all" || (benchMonth.Start.Before(o.End) && benchMonth.End.After(o.Start)) {
				cands = append(cands, o.Cal)
			}
		}
		b.Run(mode, func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			matched := 0
			for i := 0; i < b.N; i++ {
				matched = 0
				for _, c := range cands {
					ok, err := Match(c, f, nil)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						matched++
					}
				}
			}
			b.ReportMetric(float64(len(cands)), "candidates")
			b.ReportMetric(float64(matched), "matches")
		})
	}
}

// BenchmarkExpandMonth10k: the same query with expand: Match and Expand of each candidate.
func BenchmarkExpandMonth10k(b *testing.B) {
	objs := parseAll(b, benchCalendar(10000))
	f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &benchMonth})
	var cands []*ical.Calendar
	for _, o := range objs {
		if benchMonth.Start.Before(o.End) && benchMonth.End.After(o.Start) {
			cands = append(cands, o.Cal)
		}
	}
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	instances := 0
	for i := 0; i < b.N; i++ {
		instances = 0
		for _, c := range cands {
			ok, err := Match(c, f, nil)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				continue
			}
			x, err := Expand(c, benchMonth, nil)
			if err != nil {
				b.Fatal(err)
			}
			instances += len(x.Children)
		}
	}
	b.ReportMetric(float64(len(cands)), "candidates")
	b.ReportMetric(float64(instances), "instances")
}

// BenchmarkParseLargeDescription: Parse time per byte stays flat from 1 to 5 MiB (linear).
func BenchmarkParseLargeDescription(b *testing.B) {
	for _, mib := range []int{1, 5} {
		text := strings.Repeat("x", mib<<20)
		var s strings.Builder
		s.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:big\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nDESCRIPTION:")
		for len(text) > 74 {
			s.WriteString(text[:74] + "\r\n ")
			text = text[74:]
		}
		s.WriteString(text + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
		body := []byte(s.String())
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			defer reportCPU(b, cpuTime())
			for i := 0; i < b.N; i++ {
				if _, err := Parse(body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObjectMatchMonth10k: the span candidates queried through Object.Match, as a
// server holding parsed objects in a Cache does (no decoding, no preparation per query).
func BenchmarkObjectMatchMonth10k(b *testing.B) {
	objs := parseAll(b, benchCalendar(10000))
	f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &benchMonth})
	var cands []*Object
	for _, o := range objs {
		if benchMonth.Start.Before(o.End) && benchMonth.End.After(o.Start) {
			cands = append(cands, o)
		}
	}
	b.Run("match", func(b *testing.B) {
		defer reportCPU(b, cpuTime())
		for i := 0; i < b.N; i++ {
			for _, o := range cands {
				if _, err := o.Match(f, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("match+expand", func(b *testing.B) {
		defer reportCPU(b, cpuTime())
		for i := 0; i < b.N; i++ {
			for _, o := range cands {
				if ok, err := o.Match(f, nil); err != nil || !ok {
					continue
				}
				if _, err := o.Expand(benchMonth, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
