package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestCalendarScenario runs the calendar scenario with few events against an
// in-process server: every query answer is checked against the generator
// inside the scenario, so a pass means the server's time-range matching and
// expand agree with the independently computed instances.
func TestCalendarScenario(t *testing.T) {
	t.Parallel()
	url := newTestServer(t, nil)
	cfg := tinyConfig(url)
	cfg.Scenarios, cfg.Events, cfg.QueryRepeats = []string{"calendar"}, 400, 2
	var progress bytes.Buffer
	rep, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	c := rep.Calendar
	if c == nil || c.Events != 400 || c.Recurring != 40 || c.PutLatency.N != 400 || c.Query.N != 2 || c.QueryExpand.N != 2 {
		t.Fatalf("calendar: got %+v", c)
	}
	if c.QueryCPUMillis < 0 || c.ExpandCPUMillis < 0 {
		t.Errorf("server CPU per report: %v and %v", c.QueryCPUMillis, c.ExpandCPUMillis)
	}
	if c.MonthMatches == 0 || c.MonthInstance <= c.MonthMatches {
		t.Errorf("the month holds %d objects and %d instances: want some recurring ones in it", c.MonthMatches, c.MonthInstance)
	}
	var text bytes.Buffer
	rep.writeText(&text)
	if !strings.Contains(text.String(), "calendar   one-month query with expand") {
		t.Errorf("text report lacks the calendar lines:\n%s", text.String())
	}
	// A second run with the same seed needs a fresh calendar.
	if _, err := run(context.Background(), cfg, &progress); err == nil || !strings.Contains(err.Error(), "another --seed") {
		t.Errorf("second run with the same seed: got %v, want a refusal", err)
	}
}

// TestGeneratedEvents checks the generator's instance arithmetic on one
// recurring event: 20 weeks, the third excluded, the fifth moved.
func TestGeneratedEvents(t *testing.T) {
	ev := genEvent(1, 10)
	if len(ev.instances) != 19 {
		t.Fatalf("instances: %d, want 19", len(ev.instances))
	}
	start := ev.instances[0][0]
	if got := ev.instances[2][0].Sub(start); got != 21*24*time.Hour {
		t.Errorf("third listed instance %v after the first, want 3 weeks (the third week is excluded)", got)
	}
	if got := ev.instances[3][0].Sub(start); got != 28*24*time.Hour+2*time.Hour {
		t.Errorf("moved instance %v after the first, want 4 weeks and 2 hours", got)
	}
	for _, want := range []string{"RRULE:FREQ=WEEKLY;COUNT=20", "EXDATE:", "RECURRENCE-ID:"} {
		if !bytes.Contains(ev.body, []byte(want)) {
			t.Errorf("recurring body lacks %s", want)
		}
	}
	if single := genEvent(1, 11); len(single.instances) != 1 || bytes.Contains(single.body, []byte("RRULE")) {
		t.Errorf("event 11 should be a single event")
	}
}
