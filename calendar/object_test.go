package calendar

import (
	"fmt"
	"sync"
	"testing"
)

// Object.Match and Object.Expand answer exactly what Match and Expand answer, also from
// many goroutines on one Object (run with -race).
func TestObjectMatchAgrees(t *testing.T) {
	filters := []CompFilter{
		calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &TimeRange{utc("20060104T000000Z"), utc("20060105T000000Z")}}),
		calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &TimeRange{utc("20060106T170000Z"), utc("20060106T180000Z")}}),
		calendarFilter(CompFilter{Name: "VTODO", CompFilters: []CompFilter{{Name: "VALARM", TimeRange: &TimeRange{utc("20060106T100000Z"), utc("20060107T100000Z")}}}}),
		calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "bis"}}}}),
	}
	tr := TimeRange{utc("20060103T000000Z"), utc("20060107T000000Z")}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("abcd%d.ics", i)
		obj, err := Parse(readTestdata(t, "rfc4791/"+name), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, f := range filters {
					want, err1 := Match(obj.Cal, f, nil)
					got, err2 := obj.Match(f, nil)
					if got != want || (err1 == nil) != (err2 == nil) {
						t.Errorf("%s: Object.Match = %v, %v; Match = %v, %v", name, got, err2, want, err1)
					}
				}
				x1, err1 := Expand(obj.Cal, tr, nil)
				x2, err2 := obj.Expand(tr, nil)
				if err1 != nil || err2 != nil || fmt.Sprint(render(x1)) != fmt.Sprint(render(x2)) {
					t.Errorf("%s: Object.Expand differs from Expand (%v, %v)", name, err1, err2)
				}
			}()
		}
		wg.Wait()
	}
}

func TestCache(t *testing.T) {
	c := NewCache(2)
	body := readTestdata(t, "rfc4791/abcd2.ics")
	a, err := c.Object("etag-a", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Object("etag-a", body, nil); again != a {
		t.Error("a second lookup parsed again")
	}
	berlin := mustLoad("Europe/Berlin")
	if other, _ := c.Object("etag-a", body, berlin); other == a {
		t.Error("another floating location reused the object")
	}
	c.Object("etag-b", readTestdata(t, "rfc4791/abcd1.ics"), nil)
	c.Object("etag-c", readTestdata(t, "rfc4791/abcd3.ics"), nil)
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	if _, err := c.Object("bad", []byte("BEGIN:VCALENDAR\r\n"), nil); err == nil {
		t.Error("a bad body was accepted")
	}
	if c.Len() != 2 {
		t.Errorf("a failed parse changed the cache: Len = %d", c.Len())
	}
}
