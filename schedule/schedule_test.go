package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func parse(t testing.TB, s string) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(strings.ReplaceAll(s, "\n", "\r\n"))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func ownOf(addrs ...string) func(string) bool {
	return func(a string) bool {
		for _, x := range addrs {
			if x == a {
				return true
			}
		}
		return false
	}
}

const meeting = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:m1
DTSTAMP:20261201T000000Z
DTSTART:20261210T100000Z
DTEND:20261210T110000Z
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Standup
ORGANIZER:mailto:Alice@Example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org
ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:carol@example.org
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT5M
DESCRIPTION:x
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:m1
DTSTAMP:20261201T000000Z
RECURRENCE-ID:20261212T100000Z
DTSTART:20261212T120000Z
DTEND:20261212T130000Z
SUMMARY:Standup (moved)
ORGANIZER:mailto:alice@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org
ATTENDEE:mailto:dave@example.org
END:VEVENT
END:VCALENDAR
`

func TestOrganizerMessagesNewObject(t *testing.T) {
	msgs, err := OrganizerMessages(nil, parse(t, meeting), ownOf("mailto:alice@example.org"), now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Message{}
	for _, m := range msgs {
		got[m.Recipient] = m
	}
	if len(msgs) != 2 || got["mailto:bob@example.org"].Method != MethodRequest || got["mailto:dave@example.org"].Method != MethodRequest {
		t.Fatalf("messages: %+v (want REQUEST to bob and dave only; carol is SCHEDULE-AGENT=CLIENT, alice the organizer)", msgs)
	}
	bob := got["mailto:bob@example.org"].Copy
	cs := comps(bob)
	if len(cs) != 1 || rid(cs[0]) != "" {
		t.Fatalf("bob's copy has %d components, want the master only", len(cs))
	}
	if ex := cs[0].Props.Get(ical.PropExceptionDates); ex == nil || ex.Value != "20261212T100000Z" {
		t.Errorf("bob's master lacks the EXDATE of the instance he is not invited to: %v", ex)
	}
	if len(cs[0].Children) != 0 {
		t.Errorf("the organizer's alarm was copied to bob")
	}
	dave := comps(got["mailto:dave@example.org"].Copy)
	if len(dave) != 1 || rid(dave[0]) != "20261212T100000Z" || partStat(dave[0], "mailto:dave@example.org") != "NEEDS-ACTION" {
		t.Fatalf("dave's copy: want only the override with PARTSTAT=NEEDS-ACTION")
	}
	if p := dave[0].Props.Get(ical.PropAttendee); p == nil {
		t.Fatal("no attendee")
	}
	if m := got["mailto:bob@example.org"].Cal.Props.Get(ical.PropMethod); m == nil || m.Value != "REQUEST" {
		t.Errorf("message METHOD: %v", m)
	}
}

func TestOrganizerMessagesUnchangedAndRemoved(t *testing.T) {
	own := ownOf("mailto:alice@example.org")
	old := parse(t, meeting)
	// Same content, only SCHEDULE-STATUS and DTSTAMP differ: nothing to send.
	same := parse(t, strings.Replace(strings.Replace(meeting, "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob", "ATTENDEE;PARTSTAT=NEEDS-ACTION;SCHEDULE-STATUS=1.2:mailto:bob", 1), "DTSTAMP:20261201T000000Z", "DTSTAMP:20261202T000000Z", -1))
	msgs, err := OrganizerMessages(old, same, own, now)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("unchanged object sent %v, %v", msgs, err)
	}
	// dave's instance removed from the object: dave gets a CANCEL.
	noDave := parse(t, meeting[:strings.Index(meeting, "BEGIN:VEVENT\nUID:m1\nDTSTAMP:20261201T000000Z\nRECURRENCE-ID")]+"END:VCALENDAR\n")
	msgs, err = OrganizerMessages(old, noDave, own, now)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, m := range msgs {
		methods = append(methods, m.Method+" "+m.Recipient)
	}
	if strings.Join(methods, ",") != "REQUEST mailto:bob@example.org,CANCEL mailto:dave@example.org" {
		t.Fatalf("got %v; want bob a REQUEST (his EXDATE went away) and dave a CANCEL", methods)
	}
	// Deleted: everyone invited gets a CANCEL.
	msgs, _ = OrganizerMessages(old, nil, own, now)
	if len(msgs) != 2 || msgs[0].Method != MethodCancel || msgs[1].Method != MethodCancel {
		t.Fatalf("delete sent %v", msgs)
	}
	if st := comps(msgs[0].Cal)[0].Props.Get(ical.PropStatus); st == nil || st.Value != "CANCELLED" {
		t.Errorf("CANCEL without STATUS:CANCELLED")
	}
}

func TestTooManyAttendees(t *testing.T) {
	var b strings.Builder
	for i := range MaxAttendees + 1 {
		fmt.Fprintf(&b, "ATTENDEE:mailto:u%d@example.org\n", i)
	}
	body := strings.Replace(meeting, "ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:carol@example.org\n", b.String(), 1)
	if _, err := Inspect(parse(t, body)); !errors.Is(err, ErrTooManyAttendees) {
		t.Fatalf("Inspect: %v", err)
	}
}

func TestReplyAppliesPerInstance(t *testing.T) {
	bob := "mailto:bob@example.org"
	org := parse(t, meeting)
	msgs, _ := OrganizerMessages(nil, org, ownOf("mailto:alice@example.org"), now)
	var copyOld *ical.Calendar
	for _, m := range msgs {
		if m.Recipient == bob {
			copyOld = m.Copy
		}
	}
	// Bob accepts the series and declines the instance of the 11th.
	cur := parse(t, string(mustEncode(t, copyOld)))
	master := comps(cur)[0]
	attendeeProp(master, bob).Params.Set("PARTSTAT", "ACCEPTED")
	ov, err := overrideOf(master, &ical.Prop{Name: "RECURRENCE-ID", Params: ical.Params{}, Value: "20261211T100000Z"})
	if err != nil {
		t.Fatal(err)
	}
	attendeeProp(ov, bob).Params.Set("PARTSTAT", "DECLINED")
	cur.Children = append(cur.Children, ov)
	reply, err := ReplyMessage(copyOld, cur, bob, now)
	if err != nil || reply == nil {
		t.Fatalf("reply %v %v", reply, err)
	}
	if reply.Recipient != "mailto:alice@example.org" || len(comps(reply.Cal)) != 2 {
		t.Fatalf("reply to %s with %d components", reply.Recipient, len(comps(reply.Cal)))
	}
	changed, err := ApplyReply(org, reply.Cal, bob)
	if err != nil || !changed {
		t.Fatalf("apply: %v %v", changed, err)
	}
	oc := comps(org)
	if partStat(byRID(oc, ""), bob) != "ACCEPTED" {
		t.Errorf("master PARTSTAT %s", partStat(byRID(oc, ""), bob))
	}
	o := byRID(oc, "20261211T100000Z")
	if o == nil || partStat(o, bob) != "DECLINED" {
		t.Fatalf("no override with DECLINED for the 11th")
	}
	if d := o.Props.Get(ical.PropDuration); d == nil || d.Value != "PT3600S" || o.Props.Get(ical.PropDateTimeStart).Value != "20261211T100000Z" {
		t.Errorf("override timing: %v", o.Props)
	}
	// Carol, not invited server-side but an attendee, and Eve, not invited at all.
	if _, err := ApplyReply(org, reply.Cal, "mailto:eve@example.org"); !errors.Is(err, ErrNotAttendee) {
		t.Errorf("a reply carrying bob's ATTENDEE from eve: %v", err)
	}
	eve := strings.ReplaceAll(string(mustEncode(t, reply.Cal)), "bob@", "eve@")
	before := canon(org)
	if _, err := ApplyReply(org, parse(t, strings.ReplaceAll(eve, "\r\n", "\n")), "mailto:eve@example.org"); !errors.Is(err, ErrNotAttendee) {
		t.Errorf("eve's reply: %v", err)
	}
	if canon(org) != before {
		t.Error("a refused reply changed the organizer's copy")
	}
	// Deleting the copy declines.
	decl, _ := ReplyMessage(cur, nil, bob, now)
	if decl == nil || partStat(comps(decl.Cal)[0], bob) != "ACCEPTED" && partStat(comps(decl.Cal)[0], bob) != "DECLINED" {
		t.Fatalf("delete reply: %+v", decl)
	}
	for _, c := range comps(decl.Cal) {
		if partStat(c, bob) != "DECLINED" {
			t.Errorf("delete reply says %s", partStat(c, bob))
		}
	}
}

func TestMergeCopyKeepsAnswerUnlessRescheduled(t *testing.T) {
	bob := "mailto:bob@example.org"
	old := View(parse(t, meeting), bob)
	attendeeProp(comps(old)[0], bob).Params.Set("PARTSTAT", "ACCEPTED")
	view := View(parse(t, strings.Replace(meeting, "SUMMARY:Standup\n", "SUMMARY:Daily\n", 1)), bob)
	MergeCopy(old, view, bob)
	if partStat(comps(view)[0], bob) != "ACCEPTED" {
		t.Errorf("a new summary reset bob's answer")
	}
	view = View(parse(t, strings.Replace(meeting, "DTSTART:20261210T100000Z", "DTSTART:20261210T090000Z", 1)), bob)
	MergeCopy(old, view, bob)
	if partStat(comps(view)[0], bob) != "NEEDS-ACTION" {
		t.Errorf("a new time kept bob's old answer")
	}
}

func mustEncode(t testing.TB, cal *ical.Calendar) []byte {
	b, err := Encode(cal, now)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

func TestApplyCancelInstances(t *testing.T) {
	copyCal := View(parse(t, meeting), "mailto:dave@example.org") // the override only
	msg := parse(t, "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nMETHOD:CANCEL\nBEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:20261212T100000Z\nEND:VEVENT\nEND:VCALENDAR\n")
	ApplyCancel(copyCal, msg)
	if cs := comps(copyCal); len(cs) != 1 || cs[0].Props.Get(ical.PropStatus) == nil {
		t.Fatalf("a copy of one cancelled instance: %d components, want it kept and marked", len(cs))
	}
	bob := View(parse(t, meeting), "mailto:bob@example.org")
	msg = parse(t, "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nMETHOD:CANCEL\nBEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:20261211T100000Z\nEND:VEVENT\nEND:VCALENDAR\n")
	ApplyCancel(bob, msg)
	cs := comps(bob)
	if len(cs) != 1 || cs[0].Props.Get(ical.PropStatus) != nil {
		t.Fatalf("series marked cancelled for one instance")
	}
	var ex []string
	for _, p := range cs[0].Props[ical.PropExceptionDates] {
		ex = append(ex, p.Value)
	}
	if strings.Join(ex, ",") != "20261212T100000Z,20261211T100000Z" {
		t.Errorf("EXDATEs %v", ex)
	}
}

// TestExdateCancelsOnlyInstancesOfTheSameSeries: a new EXDATE of an
// unchanged series cancels that instance on its own; one that comes with a
// longer series (an instance the old series never had) sends only the
// REQUEST of the new series.
func TestExdateCancelsOnlyInstancesOfTheSameSeries(t *testing.T) {
	series := func(extra string) *ical.Calendar {
		return parse(t, "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nUID:s1\nDTSTAMP:20261201T000000Z\n"+
			"DTSTART:20270101T100000Z\nDURATION:PT1H\nORGANIZER:mailto:a@example.org\nATTENDEE:mailto:a@example.org\n"+
			"ATTENDEE:mailto:b@example.org\n"+extra+"END:VEVENT\nEND:VCALENDAR\n")
	}
	methods := func(msgs []Message) string {
		var out []string
		for _, m := range msgs {
			out = append(out, m.Method)
		}
		return strings.Join(out, ",")
	}
	old := series("RRULE:FREQ=DAILY;COUNT=10\n")
	msgs, err := OrganizerMessages(old, series("RRULE:FREQ=DAILY;COUNT=10\nEXDATE:20270103T100000Z\n"), ownOf("mailto:a@example.org"), now)
	if err != nil || methods(msgs) != "CANCEL,REQUEST" || !strings.Contains(string(mustEncode(t, msgs[0].Cal)), "RECURRENCE-ID:20270103T100000Z") {
		t.Fatalf("EXDATE of the same series: %s %v", methods(msgs), err)
	}
	msgs, err = OrganizerMessages(old, series("RRULE:FREQ=DAILY;COUNT=20\nEXDATE:20270115T100000Z\n"), ownOf("mailto:a@example.org"), now)
	if err != nil || methods(msgs) != "REQUEST" {
		t.Fatalf("EXDATE with a longer series: %s %v", methods(msgs), err)
	}
}
